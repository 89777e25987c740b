/** What domain code asks for the time; handlers pass systemClock, tests a fixed one. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
