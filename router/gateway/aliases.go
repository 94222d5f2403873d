package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/router/litellm"
)

// SyncAliases makes reg hold the config's aliases: missing ones are
// created (described as coming from the config file, labelled
// source=config), changed ones updated; aliases created through the admin
// API are left alone. Aliases may chain to each other in any order, so it
// goes round until nothing more can be done, and then reports what is
// left, each error naming the alias and where the config defines it.
func SyncAliases(ctx context.Context, reg *alias.Registry, want []litellm.Alias) error {
	pending := want
	for len(pending) > 0 {
		var next []litellm.Alias
		var errs []error
		for _, a := range pending {
			if err := syncAlias(ctx, reg, a); err != nil {
				next = append(next, a)
				errs = append(errs, fmt.Errorf("%s (%s): %w", a.Name, a.Source, err))
			}
		}
		if len(next) == len(pending) {
			return errors.Join(errs...)
		}
		pending = next
	}
	return nil
}

func syncAlias(ctx context.Context, reg *alias.Registry, a litellm.Alias) error {
	cur, err := reg.Get(a.Name)
	if errors.Is(err, alias.ErrNotFound) {
		_, err = reg.Create(ctx, alias.Alias{Name: a.Name, Target: a.Target, Hidden: a.Hidden,
			Description: "from the config file", Labels: map[string]string{"source": "config"}})
		return err
	}
	if err != nil {
		return err
	}
	if cur.Target == a.Target && cur.Hidden == a.Hidden {
		return nil
	}
	_, err = reg.Update(ctx, a.Name, alias.Update{Target: &a.Target, Hidden: &a.Hidden})
	return err
}
