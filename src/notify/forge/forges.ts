/**
 * The commit-status APIs of the forges drover reports to: GitHub
 * (`POST /repos/{owner}/{repo}/statuses/{sha}`), GitLab (`POST /api/v4/projects/:id/statuses/:sha`)
 * and Gitea/Forgejo (`POST /api/v1/repos/{owner}/{repo}/statuses/{sha}`). Each has its own auth
 * header, state names and description limit; this file is the one place that knows them. Pure.
 */
import type { PreparedRequest } from '../delivery.ts';

/** The forges. */
export const FORGES = ['github', 'gitlab', 'gitea', 'forgejo'] as const;
export type Forge = (typeof FORGES)[number];

/** drover's own states; each forge maps them to its names. */
export type CommitState = 'pending' | 'running' | 'success' | 'failure' | 'canceled';

/** Where and as whom statuses are posted. `token` is a secret: never logged. */
export interface ForgeTarget {
  readonly forge: Forge;
  /** The API base: `https://api.github.com`, `https://ghe.example/api/v3`, `https://gitlab.com`, `https://gitea.example`. */
  readonly baseUrl: string;
  /** `owner/repo`; on GitLab the project's path (`group/sub/project`) or numeric id. */
  readonly repository: string;
  readonly token: string;
}

/** One status to post. */
export interface StatusPost {
  readonly sha: string;
  readonly context: string;
  readonly state: CommitState;
  readonly description: string;
  readonly targetUrl?: string;
}

/** The longest description each forge keeps (GitHub refuses longer ones). */
export const DESCRIPTION_LIMIT: Readonly<Record<Forge, number>> = { github: 140, gitlab: 255, gitea: 255, forgejo: 255 };

/** The public API base of a forge that has one; Gitea and Forgejo are always self-hosted. */
export function defaultBaseUrl(forge: Forge): string | undefined {
  return forge === 'github' ? 'https://api.github.com' : forge === 'gitlab' ? 'https://gitlab.com' : undefined;
}

/** The forge's name for a state: GitLab knows them all; GitHub and Gitea have no running/canceled. */
export function forgeState(forge: Forge, state: CommitState): string {
  if (forge === 'gitlab') return state === 'failure' ? 'failed' : state;
  if (state === 'running') return 'pending';
  return state === 'canceled' ? 'error' : state;
}

/** `text` cut to `limit` characters (code points), with an ellipsis when cut. */
export function truncate(text: string, limit: number): string {
  const chars = Array.from(text);
  return chars.length <= limit ? text : `${chars.slice(0, limit - 1).join('')}…`;
}

/** The request that posts `post` to `target`. */
export function forgeRequest(target: ForgeTarget, post: StatusPost): PreparedRequest {
  const base = target.baseUrl.replace(/\/+$/, '');
  const description = truncate(post.description, DESCRIPTION_LIMIT[target.forge]);
  const state = forgeState(target.forge, post.state);
  const link = post.targetUrl === undefined ? {} : { target_url: post.targetUrl };
  const json = { 'content-type': 'application/json', 'user-agent': 'drover' };
  const sha = encodeURIComponent(post.sha);
  if (target.forge === 'gitlab')
    return {
      url: `${base}/api/v4/projects/${encodeURIComponent(target.repository)}/statuses/${sha}`,
      headers: { ...json, 'private-token': target.token },
      body: JSON.stringify({ state, name: post.context, description, ...link }),
    };
  const [owner, repo] = target.repository.split('/').map(encodeURIComponent);
  const body = JSON.stringify({ state, context: post.context, description, ...link });
  if (target.forge === 'github')
    return {
      url: `${base}/repos/${owner}/${repo}/statuses/${sha}`,
      headers: {
        ...json,
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        authorization: `Bearer ${target.token}`,
      },
      body,
    };
  return {
    url: `${base}/api/v1/repos/${owner}/${repo}/statuses/${sha}`,
    headers: { ...json, authorization: `token ${target.token}` },
    body,
  };
}
