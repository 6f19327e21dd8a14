/* iot_client.c — placeholder */
