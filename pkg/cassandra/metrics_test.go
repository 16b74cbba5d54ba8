package cassandra

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestQueryKind(t *testing.T) {
	for _, tt := range []struct{ stmt, want string }{
		{"SELECT key FROM kms_x.encryption_keys WHERE purpose = ?", "read"},
		{"  select * from t", "read"},
		{"INSERT INTO t (a) VALUES (?)", "write"},
		{"INSERT INTO t (a) VALUES (?) IF NOT EXISTS", "lwt"},
		{"UPDATE q SET count = ? WHERE id = ? IF count = ?", "lwt"},
		{"UPDATE q SET count = ? WHERE id = ?", "write"},
		{"DELETE FROM t WHERE a = ? IF EXISTS", "lwt"},
		{"DELETE FROM t WHERE a = ?", "write"},
		{"CREATE TABLE x (a int PRIMARY KEY)", "other"},
	} {
		require.Equal(t, tt.want, QueryKind(tt.stmt), tt.stmt)
	}
}
