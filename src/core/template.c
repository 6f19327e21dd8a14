/* template.c — placeholder until the module lands. */
