import { describe, expect, it } from 'vitest';
import { fieldAmong, fieldFor } from './copyfields';
import { API_KEY_SCHEMA, DB_SCHEMA } from '../test/fixtures';

describe('the copy shortcuts pick', () => {
  it('the required secret and the user or id of a kind', () => {
    expect(fieldFor(API_KEY_SCHEMA, 'secret')).toBe('key');
    expect(fieldFor(API_KEY_SCHEMA, 'user')).toBe('key_id');
    expect(fieldFor(DB_SCHEMA, 'secret')).toBe('password');
    expect(fieldFor(DB_SCHEMA, 'user')).toBe('user');
    expect(fieldFor(undefined, 'secret')).toBeNull();
  });

  it('among a generic credential’s own fields', () => {
    expect(fieldAmong(['token'], ['username', 'host'], 'secret', undefined)).toBe('token');
    expect(fieldAmong(['token'], ['username', 'host'], 'user', undefined)).toBe('username');
    expect(fieldAmong([], ['host'], 'user', undefined)).toBeNull();
  });
});
