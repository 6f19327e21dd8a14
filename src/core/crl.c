/* crl.c — placeholder until the module lands. */
