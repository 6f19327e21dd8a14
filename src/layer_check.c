/* layer_check.c — the whole program of a layer check (src/meson.build): the layer's library is
 * linked whole beside only the layers below it, so an undefined symbol means a call upwards. */
int main(void)
{
	return 0;
}
