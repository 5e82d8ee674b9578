// The list's search box and filters, and the FindQuery they make.

import type { FindQuery, Kind, RotationState } from './ipc';

export type RotationFilter = '' | 'needs_action' | 'compromised' | 'expired' | 'overdue' | 'due_soon' | 'ok';

export type ListFilters = {
  query: string;
  kind: Kind | '';
  env: string;
  tag: string;
  rotation: RotationFilter;
  /** The folder of names browsed (`aws/prod/`), '' for all. */
  folder: string;
};

export const EMPTY_FILTERS: ListFilters = { query: '', kind: '', env: '', tag: '', rotation: '', folder: '' };

export const ROTATION_FILTERS: { value: RotationFilter; label: string }[] = [
  { value: '', label: 'Any rotation status' },
  { value: 'needs_action', label: 'Needs action' },
  { value: 'compromised', label: 'Compromised' },
  { value: 'expired', label: 'Expired' },
  { value: 'overdue', label: 'Overdue' },
  { value: 'due_soon', label: 'Due soon' },
  { value: 'ok', label: 'Up to date' },
];

/** The rotation states a filter value selects (empty: any). */
export function statesFor(filter: RotationFilter): RotationState[] {
  switch (filter) {
    case '':
      return [];
    case 'needs_action':
      return ['overdue', 'expired', 'compromised'];
    case 'compromised':
      return ['compromised'];
    case 'expired':
      return ['expired'];
    case 'due_soon':
      return ['due_soon'];
    case 'overdue':
      return ['overdue'];
    case 'ok':
      return ['ok'];
  }
}

export function isRotationFilter(value: string): value is RotationFilter {
  return ROTATION_FILTERS.some((option) => option.value === value);
}

export function findQuery(filters: ListFilters, offset: number, limit: number): FindQuery {
  return {
    query: filters.query,
    kind: filters.kind === '' ? null : filters.kind,
    env: filters.env === '' ? null : filters.env,
    tag: filters.tag === '' ? null : filters.tag,
    states: statesFor(filters.rotation),
    folder: filters.folder,
    // The folders below come with the first page.
    folders: offset === 0,
    offset,
    limit,
  };
}

/** A string that changes exactly when the query (not the page) changes. */
export function filtersKey(filters: ListFilters): string {
  return JSON.stringify([filters.query, filters.kind, filters.env, filters.tag, filters.rotation, filters.folder]);
}

/** The way down to `folder`, from the top: `aws/prod/` gives All, aws, prod (each with its path). */
export function folderTrail(folder: string): { label: string; path: string }[] {
  const trail = [{ label: 'All', path: '' }];
  let path = '';
  for (const part of folder.split('/').filter((p) => p !== '')) {
    path += `${part}/`;
    trail.push({ label: part, path });
  }
  return trail;
}

export function hasFilters(filters: ListFilters): boolean {
  return filtersKey(filters) !== filtersKey(EMPTY_FILTERS);
}

/** Options for a facet select: the known values, plus the selected one if the facets lost it. */
export function facetOptions(values: readonly string[], selected: string): string[] {
  const out = [...values];
  if (selected !== '' && !out.includes(selected)) out.push(selected);
  return out.sort((a, b) => a.localeCompare(b));
}
