package access

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// CreateKey adds a key. Its ID must be new (ErrExists); its team and the
// access groups it names must exist, and every field must be valid
// (ErrInvalid). Spend, Created and Updated are set by the Checker. The key
// is persisted before CreateKey returns it, and usable at once.
//
// A key's grants need not be within its team's: the team narrows them at
// decision time, so a key never reaches beyond its team whatever it lists,
// and a later change of the team's grants applies to its keys at once.
func (c *Checker) CreateKey(ctx context.Context, k Key) (Key, error) {
	n, err := k.normalize()
	if err != nil {
		return Key{}, err
	}
	s, err := c.write(ctx, func(d *defs, now time.Time) (bool, error) {
		if d.keys[n.ID] != nil {
			return false, errorf(keyLabel(&n), ErrExists, "")
		}
		n.Created, n.Updated = now, now
		d.keys[n.ID] = &n
		return false, nil
	})
	if err != nil {
		return Key{}, err
	}
	out := n.clone()
	out.Spend, out.BudgetResetAt = s.keys[n.ID].spend.view(c.clock().UnixNano())
	return out, nil
}

// GetKey returns the key with its current Spend, or ErrNotFound.
func (c *Checker) GetKey(id string) (Key, error) {
	e := c.snap().keys[id]
	if e == nil {
		return Key{}, errorf("key", ErrNotFound, "")
	}
	k := e.def.clone()
	k.Spend, k.BudgetResetAt = e.spend.view(c.clock().UnixNano())
	return k, nil
}

// ListKeys returns every key, sorted by ID, with current Spend.
func (c *Checker) ListKeys() []Key {
	s := c.snap()
	out := make([]Key, 0, len(s.keys))
	for _, e := range s.keys {
		k := e.def.clone()
		k.Spend, k.BudgetResetAt = e.spend.view(c.clock().UnixNano())
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Key) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// UpdateKey replaces the definition of the key k.ID (ErrNotFound if there
// is none) with k, validated as by CreateKey. Created and the recorded
// spend are kept. To change one field, GetKey, change it, UpdateKey; two
// concurrent updates of one key are last-writer-wins.
func (c *Checker) UpdateKey(ctx context.Context, k Key) (Key, error) {
	n, err := k.normalize()
	if err != nil {
		return Key{}, err
	}
	s, err := c.write(ctx, func(d *defs, now time.Time) (bool, error) {
		old := d.keys[n.ID]
		if old == nil {
			return false, errorf(keyLabel(&n), ErrNotFound, "")
		}
		n.Created, n.Updated = old.Created, now
		d.keys[n.ID] = &n
		return false, nil
	})
	if err != nil {
		return Key{}, err
	}
	e := s.keys[n.ID]
	out := e.def.clone()
	out.Spend, out.BudgetResetAt = e.spend.view(c.clock().UnixNano())
	return out, nil
}

// DeleteKey removes the key and returns it as it was, or ErrNotFound. The
// key's spend is forgotten; its team's and organization's are kept.
func (c *Checker) DeleteKey(ctx context.Context, id string) (Key, error) {
	var gone Key
	_, err := c.write(ctx, func(d *defs, _ time.Time) (bool, error) {
		old := d.keys[id]
		if old == nil {
			return false, errorf("key", ErrNotFound, "")
		}
		gone = old.clone()
		delete(d.keys, id)
		return false, nil
	})
	if err != nil {
		return Key{}, err
	}
	return gone, nil
}

// CreateTeam adds a team. Its ID must be new; its organization and the
// access groups it names must exist.
func (c *Checker) CreateTeam(ctx context.Context, t Team) (Team, error) {
	n, err := t.normalize()
	if err != nil {
		return Team{}, err
	}
	s, err := c.write(ctx, func(d *defs, now time.Time) (bool, error) {
		if d.teams[n.ID] != nil {
			return false, errorf(teamLabel(n.ID), ErrExists, "")
		}
		n.Created, n.Updated = now, now
		d.teams[n.ID] = &n
		return false, nil
	})
	if err != nil {
		return Team{}, err
	}
	out := n.clone()
	out.Spend, out.BudgetResetAt = s.teams[n.ID].spend.view(c.clock().UnixNano())
	return out, nil
}

// GetTeam returns the team with its current Spend, or ErrNotFound.
func (c *Checker) GetTeam(id string) (Team, error) {
	e := c.snap().teams[id]
	if e == nil {
		return Team{}, errorf(teamLabel(id), ErrNotFound, "")
	}
	t := e.def.clone()
	t.Spend, t.BudgetResetAt = e.spend.view(c.clock().UnixNano())
	return t, nil
}

// ListTeams returns every team, sorted by ID, with current Spend.
func (c *Checker) ListTeams() []Team {
	s := c.snap()
	out := make([]Team, 0, len(s.teams))
	for _, e := range s.teams {
		t := e.def.clone()
		t.Spend, t.BudgetResetAt = e.spend.view(c.clock().UnixNano())
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Team) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// UpdateTeam replaces the definition of the team t.ID, as UpdateKey does.
// The new grants apply to every key of the team at once.
func (c *Checker) UpdateTeam(ctx context.Context, t Team) (Team, error) {
	n, err := t.normalize()
	if err != nil {
		return Team{}, err
	}
	s, err := c.write(ctx, func(d *defs, now time.Time) (bool, error) {
		old := d.teams[n.ID]
		if old == nil {
			return false, errorf(teamLabel(n.ID), ErrNotFound, "")
		}
		n.Created, n.Updated = old.Created, now
		d.teams[n.ID] = &n
		return false, nil
	})
	if err != nil {
		return Team{}, err
	}
	e := s.teams[n.ID]
	out := e.def.clone()
	out.Spend, out.BudgetResetAt = e.spend.view(c.clock().UnixNano())
	return out, nil
}

// DeleteTeam removes a team that has no keys (ErrInUse otherwise: deleting
// it would silently widen its keys' rights) and returns it as it was.
func (c *Checker) DeleteTeam(ctx context.Context, id string) (Team, error) {
	var gone Team
	_, err := c.write(ctx, func(d *defs, _ time.Time) (bool, error) {
		old := d.teams[id]
		if old == nil {
			return false, errorf(teamLabel(id), ErrNotFound, "")
		}
		for _, k := range d.keys {
			if k.TeamID == id {
				return false, errorf(teamLabel(id), ErrInUse, "it still has keys")
			}
		}
		gone = old.clone()
		delete(d.teams, id)
		return false, nil
	})
	if err != nil {
		return Team{}, err
	}
	return gone, nil
}

// CreateOrganization adds an organization. Its ID must be new; the access
// groups it names must exist.
func (c *Checker) CreateOrganization(ctx context.Context, o Organization) (Organization, error) {
	n, err := o.normalize()
	if err != nil {
		return Organization{}, err
	}
	s, err := c.write(ctx, func(d *defs, now time.Time) (bool, error) {
		if d.orgs[n.ID] != nil {
			return false, errorf(orgLabel(n.ID), ErrExists, "")
		}
		n.Created, n.Updated = now, now
		d.orgs[n.ID] = &n
		return false, nil
	})
	if err != nil {
		return Organization{}, err
	}
	out := n.clone()
	out.Spend, out.BudgetResetAt = s.orgs[n.ID].spend.view(c.clock().UnixNano())
	return out, nil
}

// GetOrganization returns the organization with its current Spend, or
// ErrNotFound.
func (c *Checker) GetOrganization(id string) (Organization, error) {
	e := c.snap().orgs[id]
	if e == nil {
		return Organization{}, errorf(orgLabel(id), ErrNotFound, "")
	}
	o := e.def.clone()
	o.Spend, o.BudgetResetAt = e.spend.view(c.clock().UnixNano())
	return o, nil
}

// ListOrganizations returns every organization, sorted by ID, with current
// Spend.
func (c *Checker) ListOrganizations() []Organization {
	s := c.snap()
	out := make([]Organization, 0, len(s.orgs))
	for _, e := range s.orgs {
		o := e.def.clone()
		o.Spend, o.BudgetResetAt = e.spend.view(c.clock().UnixNano())
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b Organization) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// UpdateOrganization replaces the definition of the organization o.ID, as
// UpdateKey does. The new grants apply to every team and key under it at
// once.
func (c *Checker) UpdateOrganization(ctx context.Context, o Organization) (Organization, error) {
	n, err := o.normalize()
	if err != nil {
		return Organization{}, err
	}
	s, err := c.write(ctx, func(d *defs, now time.Time) (bool, error) {
		old := d.orgs[n.ID]
		if old == nil {
			return false, errorf(orgLabel(n.ID), ErrNotFound, "")
		}
		n.Created, n.Updated = old.Created, now
		d.orgs[n.ID] = &n
		return false, nil
	})
	if err != nil {
		return Organization{}, err
	}
	e := s.orgs[n.ID]
	out := e.def.clone()
	out.Spend, out.BudgetResetAt = e.spend.view(c.clock().UnixNano())
	return out, nil
}

// DeleteOrganization removes an organization that has no teams (ErrInUse
// otherwise) and returns it as it was.
func (c *Checker) DeleteOrganization(ctx context.Context, id string) (Organization, error) {
	var gone Organization
	_, err := c.write(ctx, func(d *defs, _ time.Time) (bool, error) {
		old := d.orgs[id]
		if old == nil {
			return false, errorf(orgLabel(id), ErrNotFound, "")
		}
		for _, t := range d.teams {
			if t.OrganizationID == id {
				return false, errorf(orgLabel(id), ErrInUse, "it still has teams")
			}
		}
		gone = old.clone()
		delete(d.orgs, id)
		return false, nil
	})
	if err != nil {
		return Organization{}, err
	}
	return gone, nil
}

// CreateAccessGroup adds an access group. Its name must be new and contain
// no '*'; members are names or prefix wildcards, kept sorted and without
// duplicates. Principals that already list the name in Models gain the
// members at once.
func (c *Checker) CreateAccessGroup(ctx context.Context, g AccessGroup) (AccessGroup, error) {
	n, err := g.normalize()
	if err != nil {
		return AccessGroup{}, err
	}
	_, err = c.write(ctx, func(d *defs, now time.Time) (bool, error) {
		if d.groups[n.Name] != nil {
			return false, errorf(groupLabel(n.Name), ErrExists, "")
		}
		n.Created, n.Updated = now, now
		d.groups[n.Name] = &n
		return true, nil
	})
	if err != nil {
		return AccessGroup{}, err
	}
	return n.clone(), nil
}

// GetAccessGroup returns the access group, or ErrNotFound.
func (c *Checker) GetAccessGroup(name string) (AccessGroup, error) {
	g := c.snap().defs.groups[name]
	if g == nil {
		return AccessGroup{}, errorf(groupLabel(name), ErrNotFound, "")
	}
	return g.clone(), nil
}

// ListAccessGroups returns every access group, sorted by name.
func (c *Checker) ListAccessGroups() []AccessGroup {
	s := c.snap()
	out := make([]AccessGroup, 0, len(s.defs.groups))
	for _, g := range s.defs.groups {
		out = append(out, g.clone())
	}
	slices.SortFunc(out, func(a, b AccessGroup) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// GroupsContaining returns, sorted, the access groups that list name as a
// member (exactly; wildcard members are not expanded). The admin view of
// an alias shows it as access_groups.
func (c *Checker) GroupsContaining(name string) []string {
	var out []string
	for gn, g := range c.snap().defs.groups {
		if _, ok := slices.BinarySearch(g.Members, name); ok {
			out = append(out, gn)
		}
	}
	slices.Sort(out)
	return out
}

// UpdateAccessGroup replaces the description and members of the access
// group g.Name. Every holder's rights change at once.
func (c *Checker) UpdateAccessGroup(ctx context.Context, g AccessGroup) (AccessGroup, error) {
	n, err := g.normalize()
	if err != nil {
		return AccessGroup{}, err
	}
	_, err = c.write(ctx, func(d *defs, now time.Time) (bool, error) {
		old := d.groups[n.Name]
		if old == nil {
			return false, errorf(groupLabel(n.Name), ErrNotFound, "")
		}
		n.Created, n.Updated = old.Created, now
		d.groups[n.Name] = &n
		return true, nil
	})
	if err != nil {
		return AccessGroup{}, err
	}
	return n.clone(), nil
}

// AddGroupMembers adds names to the access group (those already members
// are left as they are) and returns the group. Every holder may use the
// new members at once.
func (c *Checker) AddGroupMembers(ctx context.Context, group string, names ...string) (AccessGroup, error) {
	return c.editMembers(ctx, group, func(members []string) []string {
		return append(slices.Clone(members), names...)
	})
}

// RemoveGroupMembers removes names from the access group (names that are
// not members are ignored) and returns the group. Every holder loses them
// at once, unless granted otherwise.
func (c *Checker) RemoveGroupMembers(ctx context.Context, group string, names ...string) (AccessGroup, error) {
	return c.editMembers(ctx, group, func(members []string) []string {
		return slices.DeleteFunc(slices.Clone(members), func(m string) bool { return slices.Contains(names, m) })
	})
}

func (c *Checker) editMembers(ctx context.Context, group string, edit func([]string) []string) (AccessGroup, error) {
	var res AccessGroup
	_, err := c.write(ctx, func(d *defs, now time.Time) (bool, error) {
		old := d.groups[group]
		if old == nil {
			return false, errorf(groupLabel(group), ErrNotFound, "")
		}
		g := *old
		g.Members = edit(old.Members)
		n, err := g.normalize()
		if err != nil {
			return false, err
		}
		n.Updated = now
		d.groups[group] = &n
		res = n.clone()
		return true, nil
	})
	if err != nil {
		return AccessGroup{}, err
	}
	return res, nil
}

// DeleteAccessGroup removes an access group that no key, team or
// organization names, in Models or AccessGroups (ErrInUse otherwise), and
// returns it as it was.
func (c *Checker) DeleteAccessGroup(ctx context.Context, name string) (AccessGroup, error) {
	var gone AccessGroup
	_, err := c.write(ctx, func(d *defs, _ time.Time) (bool, error) {
		old := d.groups[name]
		if old == nil {
			return false, errorf(groupLabel(name), ErrNotFound, "")
		}
		if who := d.grantsNaming(name); who != "" {
			return false, errorf(groupLabel(name), ErrInUse, "granted to %s", who)
		}
		gone = old.clone()
		delete(d.groups, name)
		return true, nil
	})
	if err != nil {
		return AccessGroup{}, err
	}
	return gone, nil
}

// grantsNaming returns the label of a principal whose grant lists name
// entry, or "".
func (d defs) grantsNaming(entry string) string {
	has := func(a, b []string) bool { return slices.Contains(a, entry) || slices.Contains(b, entry) }
	for _, o := range d.orgs {
		if has(o.Models, o.AccessGroups) {
			return orgLabel(o.ID)
		}
	}
	for _, t := range d.teams {
		if has(t.Models, t.AccessGroups) {
			return teamLabel(t.ID)
		}
	}
	for _, k := range d.keys {
		if has(k.Models, k.AccessGroups) {
			return keyLabel(k)
		}
	}
	return ""
}

// RemoveName removes name from the members of every access group, for
// when the alias (or group) name is deleted, so that a later alias of the
// same name does not inherit the old one's access. It is a no-op, and
// writes nothing, when no group lists name. Grants that name it directly
// on keys, teams and organizations are left alone: removing the only entry
// of a list would turn it into an empty list, which means "everything".
//
// Wire it to the alias registry (this package cannot import it):
//
//	cancel := reg.Subscribe(func(e alias.Event) {
//		if e.Kind == alias.EventDeleted {
//			if err := checker.RemoveName(context.Background(), e.Old.Name); err != nil {
//				log.Printf("prune %q from access groups: %v", e.Old.Name, err)
//			}
//		}
//	})
func (c *Checker) RemoveName(ctx context.Context, name string) error {
	if len(c.GroupsContaining(name)) == 0 {
		return nil
	}
	_, err := c.write(ctx, func(d *defs, now time.Time) (bool, error) {
		changed := false
		for gn, g := range d.groups {
			i, ok := slices.BinarySearch(g.Members, name)
			if !ok {
				continue
			}
			n := g.clone()
			n.Members = slices.Delete(n.Members, i, i+1)
			n.Updated = now
			d.groups[gn] = &n
			changed = true
		}
		return changed, nil
	})
	return err
}
