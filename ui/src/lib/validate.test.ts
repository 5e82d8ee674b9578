import { describe, expect, it } from 'vitest';
import type { FieldSchema } from './ipc';
import {
  firstError,
  isLoopback,
  needsInsecure,
  parseTags,
  validateCredentialMeta,
  validateDate,
  validateEnv,
  validateField,
  validateFieldName,
  validateFields,
  validateGeneratorLength,
  validateName,
  validateNewPassphrase,
  validatePath,
  validatePolicy,
  validatePreferences,
  validateRemote,
  validateScopeValue,
  validateTags,
  type RemoteFormValues,
} from './validate';

describe('validateName (mirrors credential.rs validate_name)', () => {
  it('accepts path-like names', () => {
    for (const name of ['aws/prod/deploy', 'api', 'db/main password', 'ünïcode/名前', 'x'.repeat(256)]) {
      expect(validateName(name)).toBeNull();
    }
  });

  it('refuses what the core refuses', () => {
    const bad = ['', ' lead', 'trail ', '/abs', 'dir/', 'a//b', 'a/ b', 'a /b', 'tab\there', 'new\nline', 'x'.repeat(257), 'é'.repeat(129)];
    for (const name of bad) expect(validateName(name), JSON.stringify(name)).not.toBeNull();
  });

  it('says what is wrong', () => {
    expect(validateName('')).toMatch(/Enter a name/);
    expect(validateName('/a')).toMatch(/start or end/);
    expect(validateName('a//b')).toMatch(/single/);
  });
});

describe('environment and tags', () => {
  it('allows labels of letters, digits and - _ . / : =', () => {
    expect(validateEnv('')).toBeNull();
    expect(validateEnv('prod')).toBeNull();
    expect(validateEnv('eu-west-1/prod:blue=1')).toBeNull();
    expect(validateEnv('pr od')).toMatch(/letters, digits/);
    expect(validateEnv('x'.repeat(33))).toMatch(/too long/);
  });

  it('parses comma-separated tags, trimmed, without duplicates', () => {
    expect(parseTags(' prod, team-a ,, prod,db ')).toEqual(['prod', 'team-a', 'db']);
    expect(parseTags('')).toEqual([]);
  });

  it('checks every tag and the count', () => {
    expect(validateTags('a, b')).toBeNull();
    expect(validateTags('ok, not ok')).toMatch(/"not ok"/);
    expect(validateTags(Array.from({ length: 33 }, (_, i) => `t${i}`).join(','))).toMatch(/At most 32/);
  });
});

const field = (over: Partial<FieldSchema>): FieldSchema => ({
  name: 'f',
  label: 'Field',
  secret: false,
  required: false,
  format: 'text',
  ...over,
});

describe('validateField', () => {
  it('requires required fields, except a kept secret in an edit', () => {
    expect(validateField(field({ required: true }), '', false)).toBe('Field is required.');
    expect(validateField(field({ required: true, secret: true }), '', true)).toBeNull();
    expect(validateField(field({ required: true, secret: false }), '', true)).toBe('Field is required.');
    expect(validateField(field({}), '', false)).toBeNull();
  });

  it('checks ports', () => {
    const port = field({ format: 'port', label: 'Port' });
    expect(validateField(port, '5432', false)).toBeNull();
    for (const bad of ['0', '65536', 'abc', '54 32', '-1', '1.5']) {
      expect(validateField(port, bad, false), bad).toMatch(/port number/);
    }
  });

  it('checks JSON objects', () => {
    const json = field({ format: 'json', label: 'Key file', secret: true });
    expect(validateField(json, '{"type":"service_account"}', false)).toBeNull();
    expect(validateField(json, '{not json', false)).toMatch(/not valid JSON/);
    expect(validateField(json, '[1,2]', false)).toMatch(/JSON object/);
    expect(validateField(json, '"text"', false)).toMatch(/JSON object/);
  });

  it('checks URLs like the core (http or https prefix)', () => {
    const url = field({ format: 'url', label: 'Address' });
    expect(validateField(url, 'https://vault:8200', false)).toBeNull();
    expect(validateField(url, 'vault:8200', false)).toMatch(/http/);
  });

  it('refuses control characters in single-line plain values', () => {
    expect(validateField(field({}), 'a\nb', false)).toMatch(/control/);
    expect(validateField(field({ format: 'multiline' }), 'a\nb', false)).toBeNull();
    expect(validateField(field({ secret: true }), 'a\nb', false)).toBeNull();
  });

  it('collects errors by field name', () => {
    const fields = [field({ name: 'host', label: 'Host', required: true }), field({ name: 'port', label: 'Port', format: 'port' })];
    expect(validateFields(fields, { port: 'x' }, false)).toEqual({
      host: 'Host is required.',
      port: 'Port must be a port number from 1 to 65535.',
    });
  });
});

describe('validateCredentialMeta', () => {
  it('keys errors by form field', () => {
    expect(validateCredentialMeta({ name: 'a/b', env: 'prod', tags: 'x', notes: '', expires: '2030-01-01' })).toEqual({});
    const errors = validateCredentialMeta({ name: '', env: 'p r', tags: 'a b', notes: 'n'.repeat(70_000), expires: 'soon' });
    expect(Object.keys(errors).sort()).toEqual(['env', 'expires', 'name', 'notes', 'tags']);
  });
});

describe('validateFieldName', () => {
  it('wants a simple unique name', () => {
    expect(validateFieldName('api_token', [])).toBeNull();
    expect(validateFieldName('', [])).toMatch(/name/);
    expect(validateFieldName('has space', [])).toMatch(/letters/);
    expect(validateFieldName('token', ['token'])).toMatch(/already/);
  });
});

describe('validatePreferences', () => {
  const ok = { autoLockMinutes: 10, clipboardSeconds: 30, revealSeconds: 20, notifications: true, passphraseAfterAutoLock: true, closeToTray: true, quickSearchShortcut: '' };

  it('accepts the documented ranges, ends included', () => {
    expect(validatePreferences(ok)).toEqual({});
    expect(validatePreferences({ ...ok, autoLockMinutes: 1, clipboardSeconds: 5, revealSeconds: 3 })).toEqual({});
    expect(validatePreferences({ ...ok, autoLockMinutes: 1440, clipboardSeconds: 600, revealSeconds: 300 })).toEqual({});
  });

  it('refuses values outside them, fractions and NaN', () => {
    const errors = validatePreferences({ ...ok, autoLockMinutes: 0, clipboardSeconds: 601, revealSeconds: Number.NaN, notifications: false });
    expect(Object.keys(errors).sort()).toEqual(['autoLockMinutes', 'clipboardSeconds', 'revealSeconds']);
    expect(errors['autoLockMinutes']).toBe('Auto-lock must be a whole number from 1 to 1440.');
    expect(validatePreferences({ ...ok, autoLockMinutes: 2.5 })['autoLockMinutes']).toBeDefined();
  });
});

describe('validatePolicy', () => {
  it('wants max age ≥ 1 and a warning below it', () => {
    expect(validatePolicy(90, 14)).toEqual({});
    expect(validatePolicy(1, 0)).toEqual({});
    expect(validatePolicy(0, 0)['maxAge']).toBeDefined();
    expect(validatePolicy(30, 30)['warn']).toMatch(/shorter/);
    expect(validatePolicy(30, -1)['warn']).toBeDefined();
    expect(validatePolicy(Number.NaN, 3)['maxAge']).toBeDefined();
  });

  it('checks the scope value', () => {
    expect(validateScopeValue('kind', 'api-key', ['api-key'])).toBeNull();
    expect(validateScopeValue('kind', 'banana', ['api-key'])).toMatch(/not a kind/);
    expect(validateScopeValue('env', '', [])).toMatch(/environment/);
    expect(validateScopeValue('tag', 'team a', [])).toMatch(/letters/);
  });
});

describe('validateNewPassphrase', () => {
  it('wants a strong enough passphrase typed twice', () => {
    expect(validateNewPassphrase('correct horse battery staple', 'correct horse battery staple', 4)).toEqual({});
    expect(validateNewPassphrase('', '', null)['passphrase']).toBe('Enter a passphrase.');
    expect(validateNewPassphrase('hunter2', 'hunter2', 1)['passphrase']).toMatch(/easy to guess/);
    expect(validateNewPassphrase('long enough phrase', 'long enough phrase!', 3)['confirm']).toMatch(/do not match/);
  });
});

describe('remotes', () => {
  const vault: RemoteFormValues = {
    type: 'vault',
    name: 'team',
    addr: 'https://vault.example.com:8200',
    mount: 'secret',
    prefix: 'coffer/',
    namespace: '',
    region: '',
    endpoint: '',
    profile: '',
    insecure: false,
  };

  it('tells loopback from other hosts', () => {
    expect(isLoopback('http://127.0.0.1:8200')).toBe(true);
    expect(isLoopback('http://localhost:8200')).toBe(true);
    expect(isLoopback('http://[::1]:8200')).toBe(true);
    expect(isLoopback('http://10.0.0.2:8200')).toBe(false);
    expect(needsInsecure('http://vault.lan:8200')).toBe(true);
    expect(needsInsecure('https://vault.lan:8200')).toBe(false);
    expect(needsInsecure('http://127.0.0.1:8200')).toBe(false);
  });

  it('accepts a good Vault remote and plain http to loopback', () => {
    expect(validateRemote(vault, [])).toEqual({});
    expect(validateRemote({ ...vault, addr: 'http://127.0.0.1:8200' }, [])).toEqual({});
  });

  it('wants insecure-http for plain http elsewhere', () => {
    expect(validateRemote({ ...vault, addr: 'http://vault.lan:8200' }, [])['addr']).toMatch(/Allow plain HTTP/);
    expect(validateRemote({ ...vault, addr: 'http://vault.lan:8200', insecure: true }, [])).toEqual({});
  });

  it('refuses a taken or odd name, a missing address and a bad mount', () => {
    expect(validateRemote({ ...vault, name: 'team' }, ['team'])['name']).toMatch(/already/);
    expect(validateRemote({ ...vault, name: 'a b' }, [])['name']).toBeDefined();
    expect(validateRemote({ ...vault, addr: '' }, [])['addr']).toMatch(/Enter/);
    expect(validateRemote({ ...vault, addr: 'vault:8200' }, [])['addr']).toMatch(/https/);
    expect(validateRemote({ ...vault, mount: '/secret' }, [])['mount']).toBeDefined();
  });

  it('checks AWS region and endpoint', () => {
    const aws: RemoteFormValues = { ...vault, type: 'aws', addr: '', mount: '' };
    expect(validateRemote(aws, [])).toEqual({});
    expect(validateRemote({ ...aws, region: 'eu-west-1', endpoint: 'http://127.0.0.1:5000' }, [])).toEqual({});
    expect(validateRemote({ ...aws, region: 'Europe' }, [])['region']).toBeDefined();
    expect(validateRemote({ ...aws, endpoint: 'http://moto.lan:5000' }, [])['endpoint']).toBeDefined();
  });
});

describe('small checks', () => {
  it('paths, generator length and the first error', () => {
    expect(validatePath('/tmp/b.cbk')).toBeNull();
    expect(validatePath('  ')).toMatch(/Enter/);
    expect(validateGeneratorLength(32)).toBeNull();
    expect(validateGeneratorLength(7)).not.toBeNull();
    expect(validateGeneratorLength(1025)).not.toBeNull();
    expect(firstError({ tags: 'x', name: 'y' }, ['name', 'tags'])).toBe('name');
    expect(firstError({ other: 'x' }, ['name'])).toBe('other');
    expect(firstError({}, ['name'])).toBeNull();
  });
});

describe('validateDate', () => {
  it('takes YYYY-MM-DD calendar dates or nothing', () => {
    expect(validateDate('')).toBeNull();
    expect(validateDate('2030-06-01')).toBeNull();
    expect(validateDate(' 2028-02-29 ')).toBeNull();
    expect(validateDate('2030-02-30')).toMatch(/not a date/);
    expect(validateDate('06/01/2030')).toMatch(/YYYY-MM-DD/);
    expect(validateDate('2030-6-1')).toMatch(/YYYY-MM-DD/);
  });
});
