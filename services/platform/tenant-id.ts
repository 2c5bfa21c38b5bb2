/**
 * What a tenant id may be, everywhere: the API takes it from a token claim and refuses any other shape
 * (services/api/auth/principal.ts), and it becomes part of S3 keys, Redis keys and configuration
 * (`AI_TENANT_DAILY_BUDGETS_USD`): 1-128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit.
 */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The rule of {@link TENANT_ID_PATTERN} in words, for error messages. */
export const TENANT_ID_RULE = '1-128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit';
