package atende

import (
	"time"
)

// Queue is where tasks wait for an agent with the right skills. The routing
// engine owns its behaviour; here are the fields every package shares.
type Queue struct {
	ID          string          `json:"id"`
	TenantID    string          `json:"tenant_id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Channels    []Channel       `json:"channels"`
	Skills      []RequiredSkill `json:"skills"`
	// Service level target: SLTargetPct % of tasks answered within SLThresholdSec.
	SLTargetPct    int          `json:"sl_target_pct"`
	SLThresholdSec int          `json:"sl_threshold_sec"`
	Priority       int          `json:"priority"`
	MaxWaitSec     int          `json:"max_wait_sec"` // 0: no limit
	TeamIDs        []string     `json:"team_ids"`
	Routing        QueueRouting `json:"routing"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
	Version        int64        `json:"version"`
}

// RequiredSkill is a skill a queue needs, with a minimum proficiency.
type RequiredSkill struct {
	SkillID        string `json:"skill_id"`
	MinProficiency int    `json:"min_proficiency"`
}

// Validate checks the queue's fields and fills defaults (80 % in 20 s).
func (q *Queue) Validate() error {
	if err := validateName(&q.Name); err != nil {
		return err
	}
	if len(q.Channels) == 0 {
		return FieldError("channels", "needs at least one channel")
	}
	for _, c := range q.Channels {
		if !ValidChannel(c) {
			return FieldError("channels", "%q is not a channel", c)
		}
	}
	seen := map[string]bool{}
	for _, s := range q.Skills {
		if !ValidID(s.SkillID) {
			return FieldError("skills", "skill_id %q is not an id", s.SkillID)
		}
		if s.MinProficiency < 1 || s.MinProficiency > 10 {
			return FieldError("skills", "min_proficiency must be between 1 and 10")
		}
		if seen[s.SkillID] {
			return FieldError("skills", "skill %s is listed twice", s.SkillID)
		}
		seen[s.SkillID] = true
	}
	if q.SLTargetPct == 0 && q.SLThresholdSec == 0 {
		q.SLTargetPct, q.SLThresholdSec = 80, 20
	}
	if q.SLTargetPct < 1 || q.SLTargetPct > 100 {
		return FieldError("sl_target_pct", "must be between 1 and 100")
	}
	if q.SLThresholdSec < 1 || q.SLThresholdSec > 86400*7 {
		return FieldError("sl_threshold_sec", "must be between 1 and 604800")
	}
	if q.Priority < 0 || q.Priority > MaxPriority {
		return FieldError("priority", "must be between 0 and %d", MaxPriority)
	}
	if q.MaxWaitSec < 0 || q.MaxWaitSec > 86400*30 {
		return FieldError("max_wait_sec", "must be between 0 and 2592000")
	}
	for _, id := range q.TeamIDs {
		if !ValidID(id) {
			return FieldError("team_ids", "%q is not an id", id)
		}
	}
	return q.Routing.validate(q)
}
