import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import {
  ATTEMPTS_ITEM,
  KEYSTORE_ITEM,
  MAX_FAILED_ATTEMPTS,
  UnlockGuard,
  createKeyStore,
  delayAfterFailures,
  generateSecretKey,
} from '../src/crypto/index.js';
import { TEST_MIN_ITERATIONS } from '../src/crypto/keystore.js';
import { MemoryStorage } from '../scripts/testkit.mjs';

const PASS = 'una frase bastante larga';
const FAST = { iterations: TEST_MIN_ITERATIONS, insecureTestIterations: true };

describe('UnlockGuard', () => {
  let storage, clock, wiped, guard, sk;
  beforeEach(async () => {
    storage = new MemoryStorage();
    clock = 1_700_000_000_000;
    wiped = 0;
    guard = new UnlockGuard({ storage, now: () => clock, onWipe: () => wiped++, insecureTestIterations: true });
    sk = generateSecretKey();
    guard.save(await createKeyStore(sk, PASS, FAST));
  });

  // Fails once; if the guard asks to wait, the fake clock waits that long.
  async function failOnce() {
    const st = guard.status();
    clock += st.waitMs;
    return guard.unlock('wrong passphrase!').then(
      () => assert.fail('wrong passphrase accepted'),
      (err) => err,
    );
  }

  test('the right passphrase unlocks and resets the counter', async () => {
    await failOnce();
    assert.equal(guard.status().failures, 1);
    assert.deepEqual(await guard.unlock(PASS), sk);
    assert.equal(guard.status().failures, 0);
    assert.equal(storage.getItem(ATTEMPTS_ITEM), null);
  });

  test('delays grow and are enforced with the clock', async () => {
    const seen = [];
    for (let i = 1; i < MAX_FAILED_ATTEMPTS; i++) {
      const err = await failOnce();
      assert.equal(err.code, 'WRONG_PASSPHRASE');
      assert.equal(err.failures, i);
      assert.equal(err.remaining, MAX_FAILED_ATTEMPTS - i);
      seen.push(err.waitMs);
      if (err.waitMs > 0) {
        clock += err.waitMs - 1;
        await assert.rejects(guard.unlock(PASS), { code: 'LOCKED_OUT' }, 'the right passphrase is refused while locked out');
        assert.equal(guard.status().failures, i, 'a locked-out attempt is not counted');
        clock += 1;
      }
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9].map(delayAfterFailures));
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], 'delays never shrink');
    assert.ok(seen.at(-1) >= 10 * 60 * 1000);
    // Still usable after waiting.
    assert.deepEqual(await guard.unlock(PASS), sk);
  });

  test(`the key is wiped after ${MAX_FAILED_ATTEMPTS} consecutive failures`, async () => {
    for (let i = 1; i < MAX_FAILED_ATTEMPTS; i++) assert.equal((await failOnce()).code, 'WRONG_PASSPHRASE');
    assert.ok(guard.hasKey());
    const err = await failOnce();
    assert.equal(err.code, 'WIPED');
    assert.equal(storage.getItem(KEYSTORE_ITEM), null);
    assert.equal(storage.getItem(ATTEMPTS_ITEM), null);
    assert.equal(wiped, 1);
    assert.equal(guard.hasKey(), false);
    await assert.rejects(guard.unlock(PASS), { code: 'NO_KEY' });
  });

  test('an attempt is counted before the KDF runs (closing the tab does not help)', async () => {
    const pending = guard.unlock('wrong passphrase!');
    assert.equal(JSON.parse(storage.getItem(ATTEMPTS_ITEM)).failures, 1);
    await assert.rejects(pending, { code: 'WRONG_PASSPHRASE' });
    const ok = guard.unlock(PASS);
    assert.equal(JSON.parse(storage.getItem(ATTEMPTS_ITEM)).failures, 2);
    await ok;
    assert.equal(storage.getItem(ATTEMPTS_ITEM), null);
  });

  test('a damaged counter fails closed', async () => {
    storage.setItem(ATTEMPTS_ITEM, 'not json');
    const st = guard.status();
    assert.equal(st.failures, MAX_FAILED_ATTEMPTS - 1);
    assert.ok(st.waitMs > 0);
    clock += st.waitMs;
    assert.equal((await failOnce()).code, 'WIPED');
  });

  test('a damaged key store is reported, not counted as a guess', async () => {
    await failOnce();
    storage.setItem(KEYSTORE_ITEM, '{"v":1}');
    await assert.rejects(guard.unlock(PASS), { code: 'MALFORMED' });
    assert.equal(guard.status().failures, 1);
  });

  test('save takes the JSON text as well as the object', async () => {
    const other = generateSecretKey();
    guard.save(JSON.stringify(await createKeyStore(other, PASS, FAST)));
    assert.deepEqual(await guard.unlock(PASS), other);
  });

  test('save refuses a malformed store; wipe erases everything', async () => {
    assert.throws(() => guard.save({ v: 1 }), { code: 'MALFORMED' });
    assert.ok(guard.hasKey());
    await failOnce();
    guard.wipe();
    assert.equal(storage.size, 0);
    assert.equal(wiped, 1);
  });

  test('production guard refuses a test-strength store', async () => {
    const prod = new UnlockGuard({ storage, now: () => clock });
    await assert.rejects(prod.unlock(PASS), { code: 'MALFORMED' });
  });
});
