package atende

import "slices"

// Permission is the right to do one kind of thing in a tenant. Every HTTP route
// and every event names the permission it needs; roles grant permissions; API
// tokens can be scoped down to a subset of their user's permissions.
type Permission string

// Permissions.
const (
	PermTenantRead         Permission = "tenant:read"
	PermTenantManage       Permission = "tenant:manage"
	PermUsersRead          Permission = "users:read"
	PermUsersManage        Permission = "users:manage"
	PermConfigRead         Permission = "config:read"   // teams, skills, queues, dispositions, reason codes, fields
	PermConfigManage       Permission = "config:manage" // the same, to change
	PermQueuesManage       Permission = "queues:manage"
	PermAgentStateOwn      Permission = "agent_state:own"
	PermAgentStateManage   Permission = "agent_state:manage" // other agents' state
	PermContactsRead       Permission = "contacts:read"
	PermContactsWrite      Permission = "contacts:write"
	PermContactsMerge      Permission = "contacts:merge"
	PermConversationsRead  Permission = "conversations:read"
	PermConversationsWrite Permission = "conversations:write"
	PermAuditRead          Permission = "audit:read"
	PermTokensManage       Permission = "tokens:manage"
	PermEventsRead         Permission = "events:read"
	PermTasksRead          Permission = "tasks:read"     // see tasks and live routing
	PermTasksWork          Permission = "tasks:work"     // answer offers, work, transfer one's own tasks
	PermTasksManage        Permission = "tasks:manage"   // create, cancel and move anyone's tasks
	PermReportsRead        Permission = "reports:read"   // historical reports and their exports
	PermWallboardRead      Permission = "wallboard:read" // the live wallboard and its alerts
)

// Permissions lists every permission, for validating token scopes.
var Permissions = []Permission{
	PermTenantRead, PermTenantManage, PermUsersRead, PermUsersManage, PermConfigRead,
	PermConfigManage, PermQueuesManage, PermAgentStateOwn, PermAgentStateManage,
	PermContactsRead, PermContactsWrite, PermContactsMerge, PermConversationsRead,
	PermConversationsWrite, PermAuditRead, PermTokensManage, PermEventsRead,
	PermTasksRead, PermTasksWork, PermTasksManage, PermReportsRead, PermWallboardRead,
}

var rolePerms = map[Role][]Permission{
	RoleAdmin: Permissions,
	RoleSupervisor: {
		PermTenantRead, PermUsersRead, PermConfigRead, PermQueuesManage, PermAgentStateOwn,
		PermAgentStateManage, PermContactsRead, PermContactsWrite, PermContactsMerge,
		PermConversationsRead, PermConversationsWrite, PermEventsRead, PermTasksRead, PermTasksWork, PermTasksManage,
		PermReportsRead, PermWallboardRead,
	},
	RoleAgent: {
		PermTenantRead, PermConfigRead, PermAgentStateOwn, PermContactsRead, PermContactsWrite,
		PermConversationsRead, PermConversationsWrite, PermEventsRead, PermTasksRead, PermTasksWork,
	},
	RoleQA: {
		PermTenantRead, PermUsersRead, PermConfigRead, PermContactsRead, PermConversationsRead,
		PermEventsRead, PermTasksRead, PermReportsRead,
	},
	RolePlanner: {
		PermTenantRead, PermUsersRead, PermConfigRead, PermEventsRead, PermTasksRead, PermReportsRead,
	},
}

// Grants is a set of permissions held by a session or token.
type Grants map[Permission]bool

// GrantsFor returns the union of the permissions of roles, narrowed to scopes
// when scopes is not empty (API tokens).
func GrantsFor(roles []Role, scopes []Permission) Grants {
	g := Grants{}
	for _, r := range roles {
		for _, p := range rolePerms[r] {
			if len(scopes) == 0 || slices.Contains(scopes, p) {
				g[p] = true
			}
		}
	}
	return g
}

// ValidPermission reports whether p is a known permission.
func ValidPermission(p Permission) bool { return slices.Contains(Permissions, p) }
