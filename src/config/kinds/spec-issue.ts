/** A problem a kind's semantic check finds, with the field path relative to `spec`. */
export interface SpecIssue {
  path: (string | number)[];
  message: string;
}

/** The semantic check a kind adds where its zod shape cannot say enough (cross-field rules, uniqueness). */
export type SpecCheck<Spec> = (spec: Spec) => SpecIssue[];
