/**
 * Tenants' daily AI budgets from the runtime configuration (services/ai/budgets-from-config.ts): the schema's check of
 * both variables at start-up, the per-tenant override of the default, precise errors, and a spent budget ending the
 * analysis at once (services/worker/pipeline.ts `isTerminal`) instead of being retried until midnight.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dailyBudgetsFromConfig } from '../../services/ai/budgets-from-config.ts';
import { loadConfig } from '../../services/platform/config.ts';
import { QuotaExceededError, ValidationError } from '../../services/platform/errors.ts';
import { isTerminal } from '../../services/worker/pipeline.ts';

const WORKER = { REDIS_URL: 'redis://127.0.0.1:6379', S3_TEMP_BUCKET: 'tmp', DESIRED_STATE_FILE: 'd.yml', AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true', AZURE_AI_API_KEY: 'k' };

/** The problems of a configuration, one `where: message` line each ([] when it loads). */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig('worker', { ...WORKER, ...env });
    return [];
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return e.problems.map((p) => `${p.where}: ${p.message}`);
  }
}

test('no variable, no budget; a default for every tenant; per-tenant pairs override it', () => {
  assert.is(dailyBudgetsFromConfig(loadConfig('worker', WORKER)), undefined);
  const all = dailyBudgetsFromConfig(loadConfig('worker', { ...WORKER, AI_DAILY_BUDGET_USD: '2.5' }));
  assert.is(all?.('anyone'), 2.5);
  const mixed = dailyBudgetsFromConfig(loadConfig('worker', { ...WORKER, AI_DAILY_BUDGET_USD: '2.5', AI_TENANT_DAILY_BUDGETS_USD: ' acme = 50 , beta-co=0.75,frozen=0 ' }));
  assert.equal(['acme', 'beta-co', 'frozen', 'other'].map((t) => mixed?.(t)), [50, 0.75, 0, 2.5]);
  const only = dailyBudgetsFromConfig(loadConfig('worker', { ...WORKER, AI_TENANT_DAILY_BUDGETS_USD: 'acme=50' }));
  assert.equal([only?.('acme'), only?.('other')], [50, undefined], 'tenants not listed have no budget without a default');
});

test('bad values are refused at start-up naming the variable, and a duplicate tenant naming the pair', () => {
  assert.ok(problems({ AI_DAILY_BUDGET_USD: '0' }).some((p) => p.startsWith('AI_DAILY_BUDGET_USD: must be > 0')), problems({ AI_DAILY_BUDGET_USD: '0' }).join('\n'));
  assert.ok(problems({ AI_DAILY_BUDGET_USD: 'lots' }).some((p) => p.startsWith('AI_DAILY_BUDGET_USD: must be number')));
  // Each pair is checked where it is parsed, so the message names the pair by index and says what is wrong with it.
  const pairProblems = (list: string): string[] => {
    try {
      dailyBudgetsFromConfig(loadConfig('worker', { ...WORKER, AI_TENANT_DAILY_BUDGETS_USD: list }));
      return [];
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      return e.problems.map((p) => `${p.where}: ${p.message}`);
    }
  };
  for (const [list, index] of [['acme', 0], ['acme=', 0], ['acme=-1', 0], ['acme=5,', 1], ['a b=1', 0], ['acme=1e3', 0], ['acme=50;beta=5', 0]] as const) {
    assert.ok(pairProblems(list).some((p) => p.startsWith(`AI_TENANT_DAILY_BUDGETS_USD[${index}]: must be tenant=usd with usd a decimal >= 0`)), `${list}: ${pairProblems(list).join('; ')}`);
  }
  // Tenant ids no token can carry would set budgets no call ever meets: a typo must not silently mean "no budget".
  for (const list of ['"acme"=0', 'a:b=5', '__proto__=5', '.hidden=1']) {
    assert.ok(pairProblems(list).some((p) => p.startsWith('AI_TENANT_DAILY_BUDGETS_USD[0]: tenant ') && p.includes('is not a tenant id')), `${list}: ${pairProblems(list).join('; ')}`);
  }
  assert.equal(pairProblems('acme=5,beta=99999999999999999999'), ['AI_TENANT_DAILY_BUDGETS_USD[1]: must be <= 1000000 USD, got 99999999999999999999']);
  assert.equal(pairProblems('acme=1,beta=2,acme=3'), ['AI_TENANT_DAILY_BUDGETS_USD[2]: tenant "acme" is listed twice']);
});

test('a spent budget ends the analysis at once; a model quota wait is retried', () => {
  assert.is(isTerminal(new QuotaExceededError('daily budget of tenant acme is spent', 3_600_000, 'budget_exceeded')), true);
  assert.is(isTerminal(new QuotaExceededError('no quota now', 2_000, 'model_quota_exceeded')), false);
});

test.run();
