/* placeholder until the service lands */
int order_placeholder(void);
int order_placeholder(void)
{
	return 0;
}
