package accesskey

import "fmt"

// Role is a caller's role in its team, from the identity token.
type Role string

const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Caller is who makes a request, as the identity token says.
type Caller struct {
	Subject string
	TeamID  string
	Role    Role
}

// Action is something a caller asks to do to a member's keys.
type Action string

const (
	ActionGenerate   Action = "generate"
	ActionListMember Action = "list-member"
	ActionListTeam   Action = "list-team"
	ActionDisable    Action = "disable"
	ActionEnable     Action = "enable"
	ActionDelete     Action = "delete"
	ActionGet        Action = "get"
	ActionRotate     Action = "rotate"
	// ActionUpdate: change a key's description or restrictions (owners
	// and admins).
	ActionUpdate    Action = "update"
	ActionOffboard  Action = "offboard"
	ActionGetPolicy Action = "get-key-policy"
	ActionSetPolicy Action = "set-key-policy"
	// ActionReportLeak: disable the team's key whose secret the caller
	// holds (owners and admins).
	ActionReportLeak Action = "report-leak"
)

// selfServe lists what a plain member may do to its own keys: see them, and
// disable one it believes leaked. Turning a key back on, minting and deleting
// stay with owners and admins.
var selfServe = map[Action]bool{
	ActionListMember: true,
	ActionGet:        true,
	ActionDisable:    true,
}

// ownerOnly lists what an admin may not do: set the team's key policy.
var ownerOnly = map[Action]bool{
	ActionSetPolicy: true,
}

// Authorize decides whether caller may do action to the keys of memberID in
// teamID (memberID is empty for team-wide actions). A caller never acts
// outside its own team.
func Authorize(caller Caller, action Action, teamID, memberID string) error {
	if caller.TeamID != teamID {
		return fmt.Errorf("%w: caller belongs to another team", ErrForbidden)
	}
	switch caller.Role {
	case RoleOwner:
		return nil
	case RoleAdmin:
		if ownerOnly[action] {
			return fmt.Errorf("%w: only the team's owner may %s", ErrForbidden, action)
		}
		return nil
	case RoleMember:
		if selfServe[action] && memberID != "" && caller.Subject == memberID {
			return nil
		}
		return fmt.Errorf("%w: role %q may not %s here", ErrForbidden, caller.Role, action)
	default:
		return fmt.Errorf("%w: unknown role %q", ErrForbidden, caller.Role)
	}
}
