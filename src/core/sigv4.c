/* sigv4.c — placeholder until the module lands. */
