/* outcome.c — placeholder until the module lands. */
