package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/modelroute/modelroute/access"
	"github.com/modelroute/modelroute/alias"
)

// BenchmarkAdminWrite measures one admin write (an alias create at 100 000
// aliases, a key create at 10 000 keys) through the Registry or the
// Checker, store included, for each implementation:
//
//	go test -run '^$' -bench AdminWrite -benchtime 200x ./sqlstore
//
// The file stores rewrite the whole state on every write; the SQL stores
// write one row.
func BenchmarkAdminWrite(b *testing.B) {
	ctx := context.Background()
	for _, im := range impls() {
		b.Run(im.name, func(b *testing.B) {
			b.Run("alias create at 100000 aliases", func(b *testing.B) {
				st := openForBench(b, im)
				defer st.close()
				const n = 100_000
				all := make([]alias.Alias, n)
				now := time.Now().UTC()
				for i := range all {
					all[i] = alias.Alias{Name: fmt.Sprintf("alias-%06d", i), Target: "group", Created: now, Updated: now, Revision: uint64(i + 1)}
				}
				if err := st.aliases.Save(ctx, all); err != nil {
					b.Fatal(err)
				}
				reg, err := alias.New(ctx, alias.WithStore(st.aliases))
				if err != nil {
					b.Fatal(err)
				}
				defer reg.Close()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					if _, err := reg.Create(ctx, alias.Alias{Name: fmt.Sprintf("new-%d", i), Target: "group"}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("key create at 10000 keys", func(b *testing.B) {
				st := openForBench(b, im)
				defer st.close()
				const n = 10_000
				var state access.State
				now := time.Now().UTC()
				state.Teams = []access.Team{{ID: "team", MaxBudget: 100, Created: now, Updated: now}}
				for i := range n {
					state.Keys = append(state.Keys, access.Key{ID: fmt.Sprintf("key-%05d", i), TeamID: "team",
						Models: []string{"smart", "openai/*"}, MaxBudget: 10, Created: now, Updated: now})
				}
				if err := st.access.Save(ctx, state); err != nil {
					b.Fatal(err)
				}
				c, err := access.New(ctx, access.WithStore(st.access))
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					if _, err := c.CreateKey(ctx, access.Key{ID: fmt.Sprintf("new-%d", i), TeamID: "team", MaxBudget: 1}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkUsageSave measures persisting the usage and spend of a batch of
// 1000 requests (the gateway's DefaultUsageBatch) spread over 100 keys, 10
// names, 4 deployments and 10 teams, for each implementation; requests/s
// is what the store sustains.
//
//	go test -run '^$' -bench UsageSave ./sqlstore
func BenchmarkUsageSave(b *testing.B) {
	ctx := context.Background()
	const batch = 1000
	for _, im := range impls() {
		b.Run(im.name, func(b *testing.B) {
			st := openForBench(b, im)
			defer st.close()
			usage, err := access.NewUsage(ctx, access.WithUsageStore(st.usage))
			if err != nil {
				b.Fatal(err)
			}
			c, err := access.New(ctx, access.WithStore(st.access))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			for i := range 10 {
				if _, err := c.CreateTeam(ctx, access.Team{ID: fmt.Sprintf("team-%d", i)}); err != nil {
					b.Fatal(err)
				}
			}
			for i := range 100 {
				if _, err := c.CreateKey(ctx, access.Key{ID: fmt.Sprintf("key-%d", i), TeamID: fmt.Sprintf("team-%d", i%10)}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			var saved time.Duration
			for b.Loop() {
				b.StopTimer()
				for i := range batch {
					key := fmt.Sprintf("key-%d", i%100)
					usage.Record(access.UsageRecord{Requested: fmt.Sprintf("name-%d", i%10), Group: "group",
						Deployment: fmt.Sprintf("dep-%d", i%4), KeyID: key, TeamID: fmt.Sprintf("team-%d", i%10),
						PromptTokens: 100, CompletionTokens: 50, CostUSD: 0.0001, Latency: time.Millisecond})
					if err := c.RecordSpend(key, 0.0001); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				t := time.Now()
				if err := usage.Save(ctx); err != nil {
					b.Fatal(err)
				}
				if err := c.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				saved += time.Since(t)
			}
			b.ReportMetric(float64(batch)*float64(b.N)/saved.Seconds(), "requests/s")
		})
	}
}

// openForBench opens the stores of im over fresh data.
func openForBench(b *testing.B, im impl) stores {
	b.Helper()
	return im.open(b)()
}

// BenchmarkStoreWrite measures the store's part of the same writes alone:
// what a file store's Save of the whole state costs against one row's
// Put or Apply.
//
//	go test -run '^$' -bench StoreWrite -benchtime 50x ./sqlstore
func BenchmarkStoreWrite(b *testing.B) {
	ctx := context.Background()
	for _, im := range impls()[1:] { // the memory stores keep a pointer: nothing to measure
		b.Run(im.name, func(b *testing.B) {
			b.Run("alias at 100000 aliases", func(b *testing.B) {
				st := openForBench(b, im)
				defer st.close()
				now := time.Now().UTC()
				all := make([]alias.Alias, 100_000)
				for i := range all {
					all[i] = alias.Alias{Name: fmt.Sprintf("alias-%06d", i), Target: "group", Created: now, Updated: now, Revision: uint64(i + 1)}
				}
				if err := st.aliases.Save(ctx, all); err != nil {
					b.Fatal(err)
				}
				rs, rows := st.aliases.(alias.RowStore)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					a := all[i%len(all)]
					a.Revision = uint64(len(all) + i + 1)
					var err error
					if rows {
						err = rs.Put(ctx, a)
					} else {
						all[i%len(all)] = a
						err = st.aliases.Save(ctx, all)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("key at 10000 keys", func(b *testing.B) {
				st := openForBench(b, im)
				defer st.close()
				now := time.Now().UTC()
				var state access.State
				for i := range 10_000 {
					state.Keys = append(state.Keys, access.Key{ID: fmt.Sprintf("key-%05d", i),
						Models: []string{"smart", "openai/*"}, MaxBudget: 10, Created: now, Updated: now})
				}
				if err := st.access.Save(ctx, state); err != nil {
					b.Fatal(err)
				}
				rs, rows := st.access.(access.RowStore)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					k := state.Keys[i%len(state.Keys)]
					k.Updated = now.Add(time.Duration(i))
					var err error
					if rows {
						err = rs.Apply(ctx, access.Changes{PutKeys: []access.Key{k}})
					} else {
						state.Keys[i%len(state.Keys)] = k
						err = st.access.Save(ctx, state)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
