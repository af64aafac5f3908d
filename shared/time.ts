/** The current time; passed into decision functions so tests can fix it. */
export type Clock = () => Date;

/** The real clock. */
export const systemClock: Clock = () => new Date();
