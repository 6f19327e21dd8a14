/* cmd_config_check.c — placeholder until the command lands. */
