import { describe, expect, it } from 'vitest';
import { fieldOf, hasCode, placeError } from './errors';

const fields = ['name', 'env', 'tags', 'notes', 'expires', 'port', 'access_key_id'];

describe('fieldOf', () => {
  it('finds a field the shell named directly', () => {
    expect(fieldOf({ code: 'invalid_input', message: 'x', field: 'port' }, fields)).toBe('port');
    expect(fieldOf({ code: 'invalid_input', message: 'x', field: 'name' }, fields)).toBe('name');
  });

  it('understands the core phrasing and aliases', () => {
    expect(fieldOf({ code: 'invalid_input', message: 'x', field: "environment 'pr od'" }, fields)).toBe('env');
    expect(fieldOf({ code: 'invalid_input', message: 'x', field: "tag 'a b'" }, fields)).toBe('tags');
    expect(fieldOf({ code: 'invalid_input', message: 'x', field: "field 'access_key_id'" }, fields)).toBe('access_key_id');
    expect(fieldOf({ code: 'invalid_input', message: 'x', field: "name '/x'" }, fields)).toBe('name');
    expect(fieldOf({ code: 'invalid_input', message: 'x', field: 'expires_at' }, fields)).toBe('expires');
  });

  it('gives null when the form has no such field or there is none', () => {
    expect(fieldOf({ code: 'invalid_input', message: 'x', field: 'passphrase' }, fields)).toBeNull();
    expect(fieldOf({ code: 'invalid_input', message: 'x', field: null }, fields)).toBeNull();
    expect(fieldOf({ code: 'invalid_input', message: 'x' }, fields)).toBeNull();
    expect(fieldOf(new Error('x'), fields)).toBeNull();
  });
});

describe('placeError', () => {
  it('puts a field error next to the field, in the shell’s words', () => {
    expect(placeError({ code: 'invalid_input', message: 'the value is not a port number', field: 'port' }, fields)).toEqual({
      field: 'port',
      message: 'The value is not a port number.',
    });
  });

  it('puts anything else above the form, never as JSON', () => {
    const placed = placeError({ code: 'failure', message: 'disk full' }, fields);
    expect(placed).toEqual({ field: null, message: 'Coffer ran into a problem: disk full.' });
    expect(placeError({ weird: true }, fields).message).not.toContain('{');
  });
});

describe('codes', () => {
  it('recognises a locked vault and other codes', () => {
    expect(hasCode({ code: 'locked', message: '' }, 'locked')).toBe(true);
    expect(hasCode({ code: 'failure', message: 'locked' }, 'locked')).toBe(false);
    expect(hasCode('locked', 'locked')).toBe(false);
    expect(hasCode({ code: 'conflict', message: '' }, 'conflict')).toBe(true);
  });
});
