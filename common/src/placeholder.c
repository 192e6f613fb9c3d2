/* placeholder */
int common_placeholder(void);
int common_placeholder(void)
{
	return 0;
}
