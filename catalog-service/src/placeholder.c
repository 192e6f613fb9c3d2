/* placeholder until the service lands */
int catalog_placeholder(void);
int catalog_placeholder(void)
{
	return 0;
}
