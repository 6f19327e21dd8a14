/* caset.c — placeholder until the module lands. */
