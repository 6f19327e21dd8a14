/* setup.c — placeholder until the command lands. */
