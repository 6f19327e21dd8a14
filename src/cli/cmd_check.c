/* cmd_check.c — placeholder until the command lands. */
