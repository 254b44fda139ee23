import type { RootCauseCategory, Site, SiteRole, Topology } from '../../core/index.js';

/**
 * Which site the evidence is about. The serving site is the one users reach (the caller reads it from the
 * site state; the primary when absent): its cloud's failure is "the cloud failing", a failover's reason. The
 * standby is the site that would take traffic next: DR while the primary serves; the old primary (to be
 * fenced, reprotected, failed back to) while another site serves. Only the topology names the clouds.
 */
export interface SiteView {
  serving: SiteRole;
  standby: SiteRole;
  servingSite: Site;
  standbySite: Site;
  /** The category of a failure of the serving site's cloud infrastructure. */
  category: RootCauseCategory;
  /** The category of a failure of the standby site's cloud infrastructure. */
  standbyCategory: RootCauseCategory;
  /** The serving site's cloud as people name it (AWS, Azure). */
  cloud: string;
  /** How the reasons name the standby: "the DR site" while the primary serves. */
  standbyName: string;
  /**
   * While another site than the primary serves: the site a failover from it could move to, one the topology
   * declares beside the serving site and the old primary (the secondary region while DR serves, DR while the
   * secondary region serves); undefined when there is none. The old primary is no such site: traffic comes back
   * to it only by reprotect and failback, once it is healthy, started by a person.
   */
  onward?: SiteRole;
}

const CLOUD_NAMES: Record<string, string> = { aws: 'AWS', azure: 'Azure', gcp: 'Google Cloud' };

export function cloudName(site: Site): string {
  return CLOUD_NAMES[site.cloud.toLowerCase()] ?? site.cloud;
}

/**
 * A cloud's infrastructure category. Azure's has its own; every other cloud's failure is filed under the
 * category the policy lets fail over (`aws_infrastructure`, the primary cloud's, as before there were sites).
 */
export function cloudCategory(site: Site): RootCauseCategory {
  return site.cloud.toLowerCase() === 'azure' ? 'azure_infrastructure' : 'aws_infrastructure';
}

export function siteView(topology: Topology, serving: SiteRole = 'primary'): SiteView {
  const standby: SiteRole = serving === 'primary' ? 'dr' : 'primary';
  const servingSite = topology[serving] ?? topology.primary;
  const standbySite = topology[standby];
  return {
    serving,
    standby,
    servingSite,
    standbySite,
    category: cloudCategory(servingSite),
    standbyCategory: cloudCategory(standbySite),
    cloud: cloudName(servingSite),
    standbyName: standby === 'dr' ? 'the DR site' : `the old primary (${described(standbySite)})`,
    ...(serving !== 'primary' ? { onward: onwardSite(topology, serving) } : {}),
  };
}

function onwardSite(topology: Topology, serving: SiteRole): SiteRole | undefined {
  if (serving === 'secondary') return 'dr';
  return topology.secondary ? 'secondary' : undefined;
}

/** How the reasons name a site of the topology: "the secondary region (AWS us-west-2)". */
export function siteName(topology: Topology, role: SiteRole): string {
  const site = topology[role];
  const what = role === 'secondary' ? 'the secondary region' : role === 'dr' ? 'the DR site' : 'the primary';
  return site ? `${what} (${described(site)})` : what;
}

function described(site: Site): string {
  return site.region ? `${cloudName(site)} ${site.region}` : cloudName(site);
}

/** How the reasons name the serving site: "the primary region" while the primary serves. */
export function servingName(sites: SiteView): string {
  if (sites.serving === 'primary') return 'the primary region';
  return `the serving site (${sites.serving}: ${described(sites.servingSite)})`;
}
