/** The version of steward, sent with SayHello and shown by `steward --version`. */
export const stewardVersion = '0.1.0';
