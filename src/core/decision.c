/* decision.c — placeholder until the module lands. */
