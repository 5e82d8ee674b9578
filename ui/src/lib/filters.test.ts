import { describe, expect, it } from 'vitest';
import { EMPTY_FILTERS, facetOptions, filtersKey, findQuery, folderTrail, hasFilters, statesFor } from './filters';

describe('statesFor', () => {
  it('maps the rotation filter to core states', () => {
    expect(statesFor('')).toEqual([]);
    expect(statesFor('needs_action')).toEqual(['overdue', 'expired', 'compromised']);
    expect(statesFor('due_soon')).toEqual(['due_soon']);
    expect(statesFor('overdue')).toEqual(['overdue']);
    expect(statesFor('ok')).toEqual(['ok']);
  });
});

describe('findQuery', () => {
  it('turns empty selects into nulls', () => {
    expect(findQuery(EMPTY_FILTERS, 200, 100)).toEqual({
      query: '',
      kind: null,
      env: null,
      tag: null,
      states: [],
      folder: '',
      folders: false,
      offset: 200,
      limit: 100,
    });
    expect(
      findQuery({ query: 'gh', kind: 'api-key', env: 'prod', tag: 'ci', rotation: 'due_soon', folder: 'aws/' }, 0, 100),
    ).toMatchObject({
      query: 'gh',
      kind: 'api-key',
      env: 'prod',
      tag: 'ci',
      states: ['due_soon'],
      folder: 'aws/',
      folders: true,
    });
  });

  it('makes the trail down to a folder', () => {
    expect(folderTrail('')).toEqual([{ label: 'All', path: '' }]);
    expect(folderTrail('aws/prod/')).toEqual([
      { label: 'All', path: '' },
      { label: 'aws', path: 'aws/' },
      { label: 'prod', path: 'aws/prod/' },
    ]);
  });
});

describe('filtersKey and hasFilters', () => {
  it('changes with the query, not with identity', () => {
    expect(filtersKey({ ...EMPTY_FILTERS })).toBe(filtersKey(EMPTY_FILTERS));
    expect(filtersKey({ ...EMPTY_FILTERS, query: 'a' })).not.toBe(filtersKey(EMPTY_FILTERS));
    expect(hasFilters(EMPTY_FILTERS)).toBe(false);
    expect(hasFilters({ ...EMPTY_FILTERS, tag: 'x' })).toBe(true);
    expect(hasFilters({ ...EMPTY_FILTERS, folder: 'aws/' })).toBe(true);
  });
});

describe('facetOptions', () => {
  it('sorts and keeps the selected value even if the facets lost it', () => {
    expect(facetOptions(['prod', 'dev'], '')).toEqual(['dev', 'prod']);
    expect(facetOptions(['prod'], 'staging')).toEqual(['prod', 'staging']);
  });
});
