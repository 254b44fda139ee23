/** The lab's fixed names: what its sites, its configuration and its drills agree on. */

export const LAB_ZONE = 'lab.phoenix.test';
export const LAB_DATABASE = 'app';
export const LAB_BUCKET = 'app-objects';
export const LAB_CONTAINER = 'app-objects';
/** The fake EC2 API checks that requests are SigV4-signed with this key id; nothing real. */
export const LAB_AWS_ACCESS_KEY_ID = 'AKIALABPHOENIX000001';
export const LAB_AWS_SECRET_ACCESS_KEY = 'lab-secret-not-a-real-key';
/** The TTL the DNS switch gives app.<zone>: clients may keep the old answer this long. */
export const LAB_DNS_TTL_S = 5;
