import { z } from 'zod';

/**
 * Who the policies single out for regular visits (探访关爱): living alone,
 * empty-nest, left-behind, disabled or severely disabled, from a special-
 * difficulty family, on low income.
 */
export const careCategories = ['lives_alone', 'empty_nest', 'left_behind', 'disabled', 'severely_disabled', 'special_family', 'low_income'] as const;
export type CareCategory = (typeof careCategories)[number];

export const visitKinds = ['phone', 'home'] as const;
export type VisitKind = (typeof visitKinds)[number];

/** One kind of visit, every so many days: a weekly phone greeting is `{kind: 'phone', everyDays: 7}`. */
export const visitPlanItemSchema = z.object({ kind: z.enum(visitKinds), everyDays: z.number().int().min(1).max(366) }).strict();
export type VisitPlanItem = z.infer<typeof visitPlanItemSchema>;
export const visitPlanSchema = z.array(visitPlanItemSchema).max(4);

/** A station's plans by category, overriding the defaults below for its residents. */
export const stationVisitPlansSchema = z.partialRecord(z.enum(careCategories), visitPlanSchema);
export type StationVisitPlans = z.infer<typeof stationVisitPlansSchema>;

/**
 * The plans a station starts with (Tangshan and Dongguan ask for every at-risk
 * elder to be visited each month; Dongyang adds phone greetings): a monthly
 * home visit for every category, and a weekly phone greeting for those alone
 * or severely disabled, fortnightly for the empty-nest, left-behind and disabled.
 */
export const defaultVisitPlans: Record<CareCategory, VisitPlanItem[]> = {
  lives_alone: [
    { kind: 'home', everyDays: 30 },
    { kind: 'phone', everyDays: 7 },
  ],
  severely_disabled: [
    { kind: 'home', everyDays: 30 },
    { kind: 'phone', everyDays: 7 },
  ],
  empty_nest: [
    { kind: 'home', everyDays: 30 },
    { kind: 'phone', everyDays: 14 },
  ],
  left_behind: [
    { kind: 'home', everyDays: 30 },
    { kind: 'phone', everyDays: 14 },
  ],
  disabled: [
    { kind: 'home', everyDays: 30 },
    { kind: 'phone', everyDays: 14 },
  ],
  special_family: [{ kind: 'home', everyDays: 30 }],
  low_income: [{ kind: 'home', everyDays: 30 }],
};

/**
 * A resident's plan: their own if set; otherwise, per kind of visit, the most
 * frequent one any of their categories asks for (the station's plan for the
 * category, else the default). No category, no plan.
 */
export function visitPlanFor(resident: { categories: readonly CareCategory[]; visitPlan: VisitPlanItem[] | null }, station: StationVisitPlans = {}): VisitPlanItem[] {
  if (resident.visitPlan) return resident.visitPlan;
  const byKind = new Map<VisitKind, number>();
  for (const category of resident.categories) {
    for (const item of station[category] ?? defaultVisitPlans[category]) byKind.set(item.kind, Math.min(byKind.get(item.kind) ?? Infinity, item.everyDays));
  }
  return visitKinds.filter((k) => byKind.has(k)).map((kind) => ({ kind, everyDays: byKind.get(kind)! }));
}

/** `YYYY-MM-DD`, a real date. */
export const isoDate = z.iso.date();

/** Full years at `now` of someone born on `birthDate` (YYYY-MM-DD), in a time zone. */
const dayFormats = new Map<string, Intl.DateTimeFormat>();

export function ageAt(birthDate: string, now: number, timeZone: string): number {
  let format = dayFormats.get(timeZone);
  // A formatter per time zone, made once: a list of residents asks for thousands of ages.
  if (!format) dayFormats.set(timeZone, (format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  const today = format.format(new Date(now));
  const [y, m, d] = today.split('-').map(Number) as [number, number, number];
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

/** The oldest old (老老人): 80 and over. */
export const OLDEST_OLD = 80;

/** Capability assessment (能力综合评估): due a year after the last for the 80+, two years after otherwise; `YYYY-MM-DD`. */
export function nextAssessmentDue(assessedAt: string | null, age: number | null): string | null {
  if (assessedAt === null) return null;
  const [y, m, d] = assessedAt.split('-').map(Number) as [number, number, number];
  const years = age !== null && age >= OLDEST_OLD ? 1 : 2;
  const due = new Date(Date.UTC(y + years, m - 1, d));
  return due.toISOString().slice(0, 10);
}
