import { FakeServer } from '../shared/server.js';

/**
 * AWS STS's AssumeRole in its wire shape (the Query protocol: a form-encoded POST with `Action=AssumeRole`,
 * `Version=2011-06-15`, answered in XML), SigV4-signed for `sts` in its region. It hands out temporary
 * credentials for a role it knows, so a test can tell which identity signed what came after.
 *
 * Refusals it models, with their sources (botocore `sts/2011-06-15/service-2.json`, AssumeRole):
 * - an unsigned request: 403 `MissingAuthenticationToken`;
 * - a missing `RoleArn` or `RoleSessionName` (both `required` in `AssumeRoleRequest`), a `RoleArn` outside
 *   20-2048 characters (`arnType`), a session name outside 2-64 characters of `[\w+=,.@-]`
 *   (`roleSessionNameType`), or a `DurationSeconds` outside 900-43200 (`roleDurationSecondsType`): 400
 *   `ValidationError`, one per field ("1 validation error detected: Value … at '<field>' failed to satisfy
 *   constraint: …", the wording AWS's JSON/Query services use for model constraints — wording assumed, the code is
 *   the Query protocol's, the model names no error shape for it);
 * - a role it does not know, or a caller the role does not trust: 403 `AccessDenied`. Not an error shape in the
 *   model (its AssumeRole errors are MalformedPolicyDocument, PackedPolicyTooLarge, RegionDisabledException,
 *   ExpiredTokenException); the code and "User: … is not authorized to perform: sts:AssumeRole on resource: …"
 *   are what STS answers in practice. Real STS names the caller by ARN; this stand-in knows only the access key id.
 * Not modelled: policies, tags, MFA, external IDs, source identity, the role's own maximum session duration,
 * other actions.
 */
export class FakeSts extends FakeServer {
  readonly assumed: Array<{ roleArn: string; caller: string; sessionName: string }> = [];

  /** `roles`: role ARN → the access key ids it trusts, and the credentials it hands out. */
  constructor(
    readonly roles: Map<
      string,
      { trusts: string[]; issues: { accessKeyId: string; secretAccessKey: string; sessionToken: string } }
    >,
  ) {
    super(
      (req, body, res) => {
        const reply = (status: number, xml: string) => {
          res.writeHead(status, { 'content-type': 'text/xml' });
          res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
        };
        const fail = (status: number, code: string, message: string) =>
          reply(
            status,
            `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fake</RequestId></ErrorResponse>`,
          );
        const caller = /Credential=([^/]+)\/\d{8}\/[^/]+\/sts\//.exec(
          String(req.headers.authorization ?? ''),
        )?.[1];
        if (!caller)
          return fail(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
        const form = new URLSearchParams(body);
        if (form.get('Action') !== 'AssumeRole')
          return fail(400, 'InvalidAction', `Could not find operation ${form.get('Action')}`);
        const roleArn = form.get('RoleArn') ?? '';
        const sessionName = form.get('RoleSessionName') ?? '';
        const invalid = invalidAssumeRoleField(form);
        if (invalid) return fail(400, 'ValidationError', `1 validation error detected: ${invalid}`);
        const role = this.roles.get(roleArn);
        if (!role || !role.trusts.includes(caller))
          return fail(
            403,
            'AccessDenied',
            `User: ${caller} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
          );
        this.assumed.push({ roleArn, caller, sessionName });
        const c = role.issues;
        reply(
          200,
          `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>${c.accessKeyId}</AccessKeyId><SecretAccessKey>${c.secretAccessKey}</SecretAccessKey><SessionToken>${c.sessionToken}</SessionToken><Expiration>${new Date(Date.now() + 3_600_000).toISOString()}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAFAKE:${sessionName}</AssumedRoleId><Arn>${roleArn.replace(':role/', ':assumed-role/')}/${sessionName}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></AssumeRoleResponse>`,
        );
      },
      { get: () => ({ assumed: this.assumed }), set: () => undefined },
    );
  }
}

/** The first AssumeRole field that breaks the model's constraints, worded as AWS words it; undefined if none. */
function invalidAssumeRoleField(form: URLSearchParams): string | undefined {
  const value = (name: string) => form.get(name);
  const roleArn = value('RoleArn');
  if (roleArn === null)
    return "Value null at 'roleArn' failed to satisfy constraint: Member must not be null";
  if (roleArn.length < 20 || roleArn.length > 2048)
    return `Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048`;
  const session = value('RoleSessionName');
  if (session === null)
    return "Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null";
  if (!/^[\w+=,.@-]{2,64}$/.test(session))
    return `Value '${session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64`;
  const duration = value('DurationSeconds');
  if (duration !== null && !(/^\d+$/.test(duration) && +duration >= 900 && +duration <= 43_200))
    return `Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`;
  return undefined;
}
