import { describe, expect, it } from 'vitest';
import { ageAt, defaultVisitPlans, nextAssessmentDue, visitPlanFor } from '../../../src/core/care-profile.ts';

describe('care profile', () => {
  it('counts full years in the resident\'s time zone: the birthday begins at local midnight', () => {
    const birthday = Date.UTC(2026, 3, 30, 16, 0); // 1 May 2026 00:00 in Shanghai, still 30 April in UTC
    expect(ageAt('1946-05-01', birthday - 60_000, 'Asia/Shanghai')).toBe(79);
    expect(ageAt('1946-05-01', birthday, 'Asia/Shanghai')).toBe(80);
    expect(ageAt('1946-05-01', birthday, 'UTC')).toBe(79);
    expect(ageAt('1944-02-29', Date.UTC(2026, 1, 28, 12), 'UTC')).toBe(81); // no 29 February this year: not yet
    expect(ageAt('1944-02-29', Date.UTC(2026, 2, 1, 12), 'UTC')).toBe(82);
  });

  it('puts the next capability assessment a year on for the 80+, two otherwise', () => {
    expect(nextAssessmentDue('2026-01-10', 86)).toBe('2027-01-10');
    expect(nextAssessmentDue('2026-01-10', 79)).toBe('2028-01-10');
    expect(nextAssessmentDue('2026-01-10', null)).toBe('2028-01-10');
    expect(nextAssessmentDue(null, 90)).toBeNull();
  });

  it('plans visits from the categories: for each kind, the most frequent any category asks for', () => {
    expect(visitPlanFor({ categories: [], visitPlan: null })).toEqual([]);
    expect(visitPlanFor({ categories: ['low_income'], visitPlan: null })).toEqual([{ kind: 'home', everyDays: 30 }]);
    expect(visitPlanFor({ categories: ['empty_nest', 'lives_alone'], visitPlan: null })).toEqual([
      { kind: 'phone', everyDays: 7 },
      { kind: 'home', everyDays: 30 },
    ]);
    // A station's plan for a category replaces the default for it; the resident's own plan replaces everything.
    expect(visitPlanFor({ categories: ['empty_nest', 'low_income'], visitPlan: null }, { empty_nest: [{ kind: 'phone', everyDays: 3 }], low_income: [{ kind: 'home', everyDays: 60 }] })).toEqual([
      { kind: 'phone', everyDays: 3 },
      { kind: 'home', everyDays: 60 },
    ]);
    expect(visitPlanFor({ categories: ['lives_alone'], visitPlan: [{ kind: 'home', everyDays: 14 }] })).toEqual([{ kind: 'home', everyDays: 14 }]);
    for (const plan of Object.values(defaultVisitPlans)) expect(plan.find((p) => p.kind === 'home')?.everyDays).toBeLessThanOrEqual(30); // every category: visited at least monthly
  });
});
