/**
 * The CLI's credentials check: `plan` and `apply` resolve the AWS credentials once before the pass, so missing
 * credentials give one message on stderr naming what is missing and how to provide it, instead of the same
 * `CredentialsProviderError` repeated in the report for every resource.
 *
 * Where the SDK looks, in order (the AWS SDK for JavaScript v3 default credential chain,
 * `@aws-sdk/credential-provider-node` `defaultProvider`): the environment (`AWS_ACCESS_KEY_ID` +
 * `AWS_SECRET_ACCESS_KEY`, plus `AWS_SESSION_TOKEN` for temporary keys); the profile `AWS_PROFILE` (else
 * `default`) of the shared files (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, by default `~/.aws/credentials`
 * and `~/.aws/config`), with its SSO session, `credential_process` or role; a web identity token
 * (`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`); then the ECS task role or the EC2 instance profile.
 */
import { errorMessage } from '../../services/platform/errors.ts';

/** Key pair s3rver accepts; the AWS emulator accepts any (devstack/standins/s3.ts). */
const STAND_IN_KEYS = 'AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER';

/** `Name: message` of an SDK error, without repeating a name the message already starts with. */
function describe(err: unknown): string {
  const name = (err as { name?: string } | null)?.name;
  const message = errorMessage(err);
  return name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}

/**
 * The help text for credentials that could not be loaded.
 * @param err what the credential provider threw.
 * @param env the environment the CLI runs with (to say which half of a key pair is set).
 * @returns several lines, without a trailing newline.
 */
export function credentialsHelp(err: unknown, env: NodeJS.ProcessEnv): string {
  const has = (k: string): boolean => env[k] !== undefined && env[k] !== '';
  const lines = [`no AWS credentials: the SDK could not load any (${describe(err)}).`];
  if (has('AWS_ACCESS_KEY_ID') !== has('AWS_SECRET_ACCESS_KEY')) {
    const [set, unset] = has('AWS_ACCESS_KEY_ID') ? ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] : ['AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID'];
    lines.push(`${set} is set but ${unset} is not: set both.`);
  }
  if (has('AWS_PROFILE')) lines.push(`AWS_PROFILE is ${env.AWS_PROFILE}: check that this profile exists in ~/.aws/config or ~/.aws/credentials (for SSO, run \`aws sso login --profile ${env.AWS_PROFILE}\` first).`);
  lines.push(
    'Provide one of:',
    '  - AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys);',
    '  - AWS_PROFILE naming a profile of ~/.aws/credentials or ~/.aws/config (SSO: `aws sso login` first);',
    '  - AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (web identity);',
    '  - or run where a role is attached (ECS task role, EC2 instance profile).',
    `Against the local stand-ins (ECS_ENDPOINT etc. pointing at devstack), use ${STAND_IN_KEYS}.`,
  );
  return lines.join('\n');
}

/**
 * Resolves credentials once.
 * @param resolve the client's credential provider (`client.config.credentials`); its result is memoized by the
 * SDK, so the pass that follows signs with the same credentials at no extra cost.
 * @returns `undefined` when credentials were loaded, else the help text of {@link credentialsHelp}.
 */
export async function awsCredentialsProblem(resolve: () => Promise<unknown>, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  try {
    await resolve();
    return undefined;
  } catch (err) {
    return credentialsHelp(err, env);
  }
}
