import { describe, expect, it } from 'vitest';
import type { VaultStatus } from './ipc';
import {
  credentialCountText,
  describeStatus,
  LOCK_ACTION,
  MISSING_DETAIL,
  splitCode,
  UNLOCK_ACTION,
} from './status';

function status(overrides: Partial<VaultStatus>): VaultStatus {
  return {
    state: 'locked',
    path: '/home/ana/.local/share/coffer/vault.db',
    credentialCount: null,
    message: null,
    ...overrides,
  };
}

describe('credentialCountText', () => {
  it('uses the singular for exactly one', () => {
    expect(credentialCountText(1)).toBe('1 credential');
  });

  it('uses the plural for zero and for many', () => {
    expect(credentialCountText(0)).toBe('0 credentials');
    expect(credentialCountText(2)).toBe('2 credentials');
    expect(credentialCountText(12)).toBe('12 credentials');
  });

  it('groups thousands', () => {
    expect(credentialCountText(1024)).toBe('1,024 credentials');
  });
});

describe('describeStatus', () => {
  it('unlocked: counts credentials and offers Lock', () => {
    const view = describeStatus(status({ state: 'unlocked', credentialCount: 12, path: '/v/vault.db' }));
    expect(view).toEqual({
      heading: 'Vault unlocked',
      detail: '12 credentials in /v/vault.db',
      action: LOCK_ACTION,
    });
    expect(view.action?.label).toBe('Lock vault');
  });

  it('unlocked with one credential uses the singular', () => {
    const view = describeStatus(status({ state: 'unlocked', credentialCount: 1, path: '/v/vault.db' }));
    expect(view.detail).toBe('1 credential in /v/vault.db');
  });

  it('unlocked with an empty vault says 0 credentials', () => {
    const view = describeStatus(status({ state: 'unlocked', credentialCount: 0, path: '/v/vault.db' }));
    expect(view.detail).toBe('0 credentials in /v/vault.db');
  });

  it('unlocked without a count still names the path', () => {
    const view = describeStatus(status({ state: 'unlocked', credentialCount: null, path: '/v/vault.db' }));
    expect(view.detail).toBe('Open at /v/vault.db');
    expect(view.action).toEqual(LOCK_ACTION);
  });

  it('locked: shows the message and offers Unlock', () => {
    const view = describeStatus(
      status({ state: 'locked', message: 'The keyring has no key for this vault.' }),
    );
    expect(view).toEqual({
      heading: 'Vault locked',
      detail: 'The keyring has no key for this vault.',
      action: UNLOCK_ACTION,
    });
    expect(view.action?.label).toBe('Unlock vault');
  });

  it('locked without a message falls back to the path', () => {
    const view = describeStatus(status({ state: 'locked', message: '   ', path: '/v/vault.db' }));
    expect(view.detail).toBe('Unlock it to open /v/vault.db.');
  });

  it('locked ignores any credential count', () => {
    const view = describeStatus(status({ state: 'locked', credentialCount: 5 }));
    expect(view.detail).not.toContain('5');
  });

  it('missing: explains how to create a vault and offers no action', () => {
    const view = describeStatus(status({ state: 'missing' }));
    expect(view.heading).toBe('No vault yet');
    expect(view.detail).toBe('Create one with `coffer init`, then reopen Coffer.');
    expect(view.detail).toBe(MISSING_DETAIL);
    expect(view.action).toBeNull();
  });

  it('an unknown state offers nothing instead of crashing', () => {
    const view = describeStatus(status({ state: 'sealed' as VaultStatus['state'] }));
    expect(view.heading).toBe('Vault state unknown');
    expect(view.detail).toContain('sealed');
    expect(view.action).toBeNull();
  });
});

describe('splitCode', () => {
  it('marks backticked text as code', () => {
    expect(splitCode(MISSING_DETAIL)).toEqual([
      { text: 'Create one with ', code: false },
      { text: 'coffer init', code: true },
      { text: ', then reopen Coffer.', code: false },
    ]);
  });

  it('leaves plain text alone', () => {
    expect(splitCode('12 credentials in /v')).toEqual([{ text: '12 credentials in /v', code: false }]);
  });

  it('keeps an unpaired backtick as text', () => {
    expect(splitCode('a ` b')).toEqual([{ text: 'a ` b', code: false }]);
  });

  it('returns nothing for an empty line', () => {
    expect(splitCode('')).toEqual([]);
  });
});
