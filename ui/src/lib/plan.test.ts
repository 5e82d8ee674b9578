import { describe, expect, it } from 'vitest';
import type { PlanItem, SyncReport, SyncState } from './ipc';
import { groupPlan, planCounts, planSummary, progressPercent, reportSummary } from './plan';

const item = (name: string, state: SyncState): PlanItem => ({
  name,
  state,
  stateText: state.replace('_', ' '),
  detail: null,
  localVersion: null,
  remoteVersion: null,
});

const items = [
  item('z/in-sync', 'in_sync'),
  item('b/new', 'new_remote'),
  item('a/new', 'new_remote'),
  item('db', 'conflict'),
  item('mine', 'changed_local'),
  item('broken', 'error'),
  item('gone', 'deleted_remote'),
];

describe('groupPlan', () => {
  it('groups by state, conflicts first, in sync last, names sorted', () => {
    const groups = groupPlan(items);
    expect(groups.map((g) => g.state)).toEqual(['conflict', 'error', 'new_remote', 'deleted_remote', 'changed_local', 'in_sync']);
    expect(groups[2]?.items.map((i) => i.name)).toEqual(['a/new', 'b/new']);
    expect(groups[2]?.title).toBe('New on the remote');
  });

  it('is empty for an empty plan', () => {
    expect(groupPlan([])).toEqual([]);
  });
});

describe('planCounts and planSummary', () => {
  it('counts what a sync would do', () => {
    expect(planCounts(items)).toEqual({ pull: 2, push: 1, conflicts: 1, errors: 1, inSync: 1, prune: 1 });
    expect(planSummary(items)).toBe('2 to pull, 1 to push, 1 deleted on one side, 1 conflict, 1 error, 1 in sync.');
  });

  it('says when there is nothing to do', () => {
    expect(planSummary([item('a', 'in_sync'), item('b', 'in_sync')])).toBe('Everything is in sync (2 credentials).');
    expect(planSummary([])).toBe('Nothing on either side yet.');
  });
});

describe('reportSummary', () => {
  it('names pulled and pushed counts', () => {
    const report: SyncReport = { remote: 'r', done: [], inSync: 5, pulled: 2, pushed: 3, conflicts: 1, failed: 0 };
    expect(reportSummary(report)).toBe('pulled 2, pushed 3, 5 in sync, 1 conflict, 0 failed');
  });
});

describe('progressPercent', () => {
  it('is a bounded percentage', () => {
    expect(progressPercent(null)).toBe(0);
    expect(progressPercent({ remote: 'r', total: 0, done: 0, name: null, outcome: null })).toBe(0);
    expect(progressPercent({ remote: 'r', total: 3, done: 1, name: 'a', outcome: 'pushed' })).toBe(33);
    expect(progressPercent({ remote: 'r', total: 3, done: 5, name: null, outcome: null })).toBe(100);
  });
});
