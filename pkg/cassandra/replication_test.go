package cassandra

import "testing"

func TestReplicationCQLAndSameReplication(t *testing.T) {
	rf := map[string]int{"dc2": 1, "dc1": 3}
	if got, want := ReplicationCQL(rf), "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 1}"; got != want {
		t.Fatalf("ReplicationCQL = %s, want %s", got, want)
	}
	nts := "org.apache.cassandra.locator.NetworkTopologyStrategy"
	for _, c := range []struct {
		stored map[string]string
		same   bool
	}{
		{map[string]string{"class": nts, "dc1": "3", "dc2": "1"}, true},
		{map[string]string{"class": nts, "dc1": "3"}, false},                         // dc2 missing
		{map[string]string{"class": nts, "dc1": "1", "dc2": "1"}, false},             // other factor
		{map[string]string{"class": nts, "dc1": "3", "dc2": "1", "dc3": "1"}, false}, // extra dc
		{map[string]string{"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "1"}, false},
	} {
		if got := SameReplication(c.stored, rf); got != c.same {
			t.Errorf("SameReplication(%v) = %v, want %v", c.stored, got, c.same)
		}
	}
}
