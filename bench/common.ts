// Names shared by the benchmark's processes.
export const JUDGE_MODEL = "judge-model";
export const SUBJECT_MODEL = "subject-model";
/** Items per epoch of the study: the 71 paper items × 3 conditions. */
export const ITEMS_PER_EPOCH = 213;
