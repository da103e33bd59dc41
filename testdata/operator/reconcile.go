package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	group   = "kubeflow.org"
	version = "v1alpha1"

	// Labels of a replica's pod: which TFJob (by name and uid), which
	// replica.
	labelJob   = "tf-operator.kubeflow.org/job-name"
	labelUID   = "tf-operator.kubeflow.org/job-uid"
	labelType  = "tf-operator.kubeflow.org/replica-type"
	labelIndex = "tf-operator.kubeflow.org/replica-index"
)

// Condition types of a TFJob's status, as Kubeflow's own operator names
// them. A TFJob is finished once Succeeded or Failed is True.
const (
	condCreated   = "Created"
	condRunning   = "Running"
	condSucceeded = "Succeeded"
	condFailed    = "Failed"
)

type meta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace,omitempty"`
	UID               string            `json:"uid,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	DeletionTimestamp *string           `json:"deletionTimestamp,omitempty"`
	OwnerReferences   []ownerRef        `json:"ownerReferences,omitempty"`
}

type ownerRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	UID        string `json:"uid"`
	Controller bool   `json:"controller"`
}

type tfJob struct {
	Metadata meta `json:"metadata"`
	Spec     struct {
		ReplicaSpecs []struct {
			Replicas      *int   `json:"replicas"`
			TFReplicaType string `json:"tfReplicaType"`
			Template      struct {
				Metadata struct {
					Labels map[string]string `json:"labels"`
				} `json:"metadata"`
				Spec map[string]any `json:"spec"`
			} `json:"template"`
		} `json:"replicaSpecs"`
	} `json:"spec"`
	Status status `json:"status"`
}

type status struct {
	Conditions []condition `json:"conditions,omitempty"`
}

type condition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
	LastTransitionTime string `json:"lastTransitionTime,omitempty"`
}

type pod struct {
	Metadata meta `json:"metadata"`
	Status   struct {
		Phase             string `json:"phase"`
		ContainerStatuses []struct {
			Name  string `json:"name"`
			State struct {
				Terminated *struct {
					ExitCode int    `json:"exitCode"`
					Reason   string `json:"reason"`
				} `json:"terminated"`
			} `json:"state"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

// reconcileAll makes one pass over every TFJob of the cluster.
func reconcileAll(ctx context.Context, a *api) error {
	// Pods first: a pod listed then belongs to a TFJob that the later list
	// has, unless the TFJob is really gone (see the orphans below).
	var pods struct {
		Items []pod `json:"items"`
	}
	if err := a.do(ctx, http.MethodGet, "/api/v1/pods?labelSelector="+url.QueryEscape(labelUID), nil, &pods); err != nil {
		return err
	}
	var jobs struct {
		Items []tfJob `json:"items"`
	}
	if err := a.do(ctx, http.MethodGet, "/apis/"+group+"/"+version+"/tfjobs", nil, &jobs); err != nil {
		return err
	}
	byJob := map[string][]pod{}
	for _, p := range pods.Items {
		byJob[p.Metadata.Labels[labelUID]] = append(byJob[p.Metadata.Labels[labelUID]], p)
	}
	var errs []error
	for _, j := range jobs.Items {
		if err := reconcile(ctx, a, j, byJob[j.Metadata.UID]); err != nil {
			errs = append(errs, fmt.Errorf("tfjob %s/%s: %w", j.Metadata.Namespace, j.Metadata.Name, err))
		}
		delete(byJob, j.Metadata.UID)
	}
	// Pods of TFJobs that are gone. The garbage collector deletes them too
	// (they are owned), but only once it watches TFJobs, which it starts
	// doing up to 30 s after the CRD appears: a freshly deployed operator
	// would leave them that long.
	for _, orphans := range byJob {
		for _, p := range orphans {
			if p.Metadata.DeletionTimestamp != nil {
				continue
			}
			err := a.do(ctx, http.MethodDelete, "/api/v1/namespaces/"+p.Metadata.Namespace+"/pods/"+p.Metadata.Name, nil, nil)
			var se *statusError
			if err != nil && !(errors.As(err, &se) && se.code == http.StatusNotFound) {
				errs = append(errs, err)
				continue
			}
			log.Printf("deleted pod %s/%s of deleted tfjob %s", p.Metadata.Namespace, p.Metadata.Name, p.Metadata.Labels[labelJob])
		}
	}
	return errors.Join(errs...)
}

// reconcile creates the missing replica pods of an unfinished TFJob and
// brings its status up to date with theirs.
func reconcile(ctx context.Context, a *api, j tfJob, pods []pod) error {
	if j.Metadata.DeletionTimestamp != nil || finished(j.Status) {
		return nil
	}
	have := map[string]pod{}
	for _, p := range pods {
		have[p.Metadata.Name] = p
	}
	var want []pod
	for _, rs := range j.Spec.ReplicaSpecs {
		n := 1
		if rs.Replicas != nil {
			n = *rs.Replicas
		}
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("%s-%s-%d", j.Metadata.Name, strings.ToLower(rs.TFReplicaType), i)
			p, ok := have[name]
			if !ok {
				if err := createPod(ctx, a, j, name, rs.TFReplicaType, i, rs.Template.Metadata.Labels, rs.Template.Spec); err != nil {
					return err
				}
				log.Printf("tfjob %s/%s: created pod %s", j.Metadata.Namespace, j.Metadata.Name, name)
				p = pod{Metadata: meta{Name: name}}
				p.Status.Phase = "Pending"
			}
			want = append(want, p)
		}
	}
	next := judge(want)
	if current(j.Status) == next.Type {
		return nil
	}
	next.Status = "True"
	next.LastTransitionTime = time.Now().UTC().Format(time.RFC3339)
	conds := []condition{}
	for _, c := range j.Status.Conditions {
		if c.Type != next.Type {
			c.Status = "False"
			conds = append(conds, c)
		}
	}
	conds = append(conds, next)
	patch := map[string]any{"status": status{Conditions: conds}}
	path := fmt.Sprintf("/apis/%s/%s/namespaces/%s/tfjobs/%s/status", group, version, j.Metadata.Namespace, j.Metadata.Name)
	if err := a.do(ctx, http.MethodPatch, path, patch, nil); err != nil {
		return err
	}
	log.Printf("tfjob %s/%s: %s (%s)", j.Metadata.Namespace, j.Metadata.Name, next.Type, next.Message)
	return nil
}

// judge is the TFJob's condition given its replicas' pods: Failed as soon
// as one fails, Succeeded once all have, Running while any runs.
func judge(pods []pod) condition {
	if len(pods) == 0 {
		return condition{Type: condFailed, Reason: "NoReplicas", Message: "the TFJob has no replicas"}
	}
	done, running := 0, 0
	for _, p := range pods {
		switch p.Status.Phase {
		case "Failed":
			msg := "pod " + p.Metadata.Name + " failed"
			for _, c := range p.Status.ContainerStatuses {
				if t := c.State.Terminated; t != nil && t.ExitCode != 0 {
					msg = fmt.Sprintf("pod %s: container %s exited with code %d (%s)", p.Metadata.Name, c.Name, t.ExitCode, t.Reason)
				}
			}
			return condition{Type: condFailed, Reason: "ReplicaFailed", Message: msg}
		case "Succeeded":
			done++
		case "Running":
			running++
		}
	}
	switch {
	case done == len(pods):
		return condition{Type: condSucceeded, Reason: "AllReplicasSucceeded", Message: fmt.Sprintf("%d of %d replicas succeeded", done, len(pods))}
	case running+done > 0:
		return condition{Type: condRunning, Reason: "ReplicasRunning", Message: fmt.Sprintf("%d running, %d succeeded of %d", running, done, len(pods))}
	}
	return condition{Type: condCreated, Reason: "ReplicasPending", Message: fmt.Sprintf("%d replicas created", len(pods))}
}

// current is the type of the TFJob's True condition, "" for none.
func current(s status) string {
	for _, c := range s.Conditions {
		if c.Status == "True" {
			return c.Type
		}
	}
	return ""
}

func finished(s status) bool {
	c := current(s)
	return c == condSucceeded || c == condFailed
}

// createPod creates one replica's pod from the replica's template. Replicas
// run once (restartPolicy Never): a failed one fails the TFJob. The pod is
// owned by the TFJob, so deleting the TFJob deletes it.
func createPod(ctx context.Context, a *api, j tfJob, name, replicaType string, index int, labels map[string]string, spec map[string]any) error {
	l := map[string]string{}
	for k, v := range labels {
		l[k] = v
	}
	l[labelJob], l[labelUID], l[labelType], l[labelIndex] = j.Metadata.Name, j.Metadata.UID, strings.ToLower(replicaType), fmt.Sprint(index)
	if spec == nil {
		spec = map[string]any{}
	}
	spec["restartPolicy"] = "Never"
	containers, _ := spec["containers"].([]any)
	for _, c := range containers {
		if c, ok := c.(map[string]any); ok {
			env, _ := c["env"].([]any)
			c["env"] = append(env,
				map[string]any{"name": "TF_JOB_NAME", "value": j.Metadata.Name},
				map[string]any{"name": "TF_REPLICA_TYPE", "value": replicaType},
				map[string]any{"name": "TF_REPLICA_INDEX", "value": fmt.Sprint(index)})
		}
	}
	p := map[string]any{
		"apiVersion": "v1",
		"kind":       "Pod",
		"metadata": meta{Name: name, Labels: l, OwnerReferences: []ownerRef{{
			APIVersion: group + "/" + version, Kind: "TFJob", Name: j.Metadata.Name, UID: j.Metadata.UID, Controller: true,
		}}},
		"spec": spec,
	}
	err := a.do(ctx, http.MethodPost, "/api/v1/namespaces/"+j.Metadata.Namespace+"/pods", p, nil)
	var se *statusError
	if errors.As(err, &se) && se.code == http.StatusConflict {
		return nil // made by the previous pass, not yet listed
	}
	return err
}
