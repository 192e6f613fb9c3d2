/* placeholder: replaced by the real support library */
int ts_placeholder(void);
int ts_placeholder(void)
{
	return 0;
}
