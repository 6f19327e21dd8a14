/* cert.c — placeholder until the module lands. */
