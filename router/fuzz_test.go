package router

import (
	"fmt"
	"testing"
	"time"

	"github.com/modelroute/modelroute/provider/providertest"
)

// FuzzPick: whatever the deployments' states, limits, tags, tiers and the
// strategy, pick never chooses a deployment that is not a candidate, picks
// from the best tier that has one, and finds one whenever one exists.
func FuzzPick(f *testing.F) {
	f.Add([]byte{4, 0, 1, 2, 3, 4, 5, 6, 7}, uint8(0), uint64(1))
	f.Add([]byte{10, 255, 3, 7, 1, 0, 0, 9, 12, 200, 17, 33}, uint8(3), uint64(7))
	f.Add([]byte{1, 1}, uint8(5), uint64(3))
	f.Fuzz(func(t *testing.T, spec []byte, strategy uint8, seed uint64) {
		if len(spec) == 0 {
			return
		}
		n := int(spec[0])%12 + 1
		at := func(i int) byte {
			if len(spec) == 0 {
				return 0
			}
			return spec[(i+1)%len(spec)]
		}
		names := StrategyNames()
		cfg := Config{Strategy: names[int(strategy)%len(names)]}
		fake := providertest.NewFake()
		for i := range n {
			b := at(i)
			d := Deployment{ID: fmt.Sprint("d", i), Group: "g", Model: "openai/m", Provider: fake,
				Weight: float64(b%5) * 0.5, Order: int(b>>5) % 3}
			if b&0x08 != 0 {
				d.Tags = []string{"t"}
			}
			if b&0x10 != 0 {
				d.ContextWindow = 10
			}
			if b&0x04 != 0 {
				d.MaxParallel = 1
			}
			if b&0x02 != 0 {
				d.RPM = 1
			}
			cfg.Deployments = append(cfg.Deployments, d)
		}
		r, err := New(nil, cfg, WithSeed(seed))
		if err != nil {
			t.Fatal(err)
		}
		tab := r.tab.Load()
		now := time.Now().UnixNano()
		var tried []*dep
		for i, d := range tab.deps {
			b := at(i + n)
			switch b % 7 {
			case 1:
				d.st.startCooldown(now, time.Hour)
			case 2:
				d.st.setProbeHealth(now, false, 0)
			case 3:
				d.st.inflight.Store(1)
			case 4:
				d.st.roll(now)
				d.st.rpm.Store(1)
			case 5:
				tried = append(tried, d)
			case 6:
				d.st.startCooldown(now-int64(2*time.Hour), time.Hour) // half-open
				if b&0x80 != 0 {
					d.st.probing.Store(true)
				}
			}
		}
		q, release := testRequest(r)
		defer release()
		req := chat("g")
		if at(2*n)&1 != 0 {
			req.Messages[0].Content = string(make([]byte, 100)) // over a window of 10
		}
		q.s.chat.req = req
		cand := &q.s.cand
		cand.set = &tab.set
		cand.est = EstimateTokens
		if at(2*n)&2 != 0 {
			cand.tags = []string{"t"}
		}
		cand.tried = tried
		g, _ := tab.lookup("g")

		// The candidates and the best tier holding one, before picking.
		cand.now = now
		ok := map[*dep]bool{}
		best := -1
		for ti, tr := range g.tiers {
			for _, d := range tr.deps {
				if cand.reason(d) == ReasonCandidate {
					ok[d] = true
					if best < 0 {
						best = ti
					}
				}
			}
		}
		d, _ := q.pick(g, now)
		switch {
		case d == nil && len(ok) > 0:
			t.Fatalf("no pick although %d candidates", len(ok))
		case d != nil && !ok[d]:
			t.Fatalf("picked %s, not a candidate (%v)", d.ID, cand.reason(d))
		case d != nil && d.tier != g.tiers[best].order:
			t.Fatalf("picked %s from tier %d, best tier with a candidate is %d", d.ID, d.tier, g.tiers[best].order)
		}
	})
}
