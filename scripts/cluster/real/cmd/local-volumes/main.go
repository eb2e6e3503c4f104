// Command local-volumes is the real node's volume provisioner: for each claim of a StorageClass
// whose provisioner is lgcp.local/local-volumes it makes a directory under --base-dir and a
// `local` PersistentVolume bound to the claim (pinned to the one node); when such a volume is
// released and its reclaim policy is Delete, it removes the directory and the volume.
//
// `local` rather than `hostPath` volumes because the kubelet applies a pod's fsGroup to them, so
// non-root containers (Postgres, Redis) can write their data. The directory itself is 0777: it
// sits inside the node's 0700 state folder, so nobody but the pod it is mounted into reaches it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	provisionerName   = "lgcp.local/local-volumes"
	annProvisionedBy  = "pv.kubernetes.io/provisioned-by"
	annSelectedNode   = "volume.kubernetes.io/selected-node"
	annWantedBy       = "volume.kubernetes.io/storage-provisioner"
	annWantedByBeta   = "volume.beta.kubernetes.io/storage-provisioner"
	reconcileInterval = 10 * time.Second
)

type provisioner struct {
	client  kubernetes.Interface
	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	classes storagelisters.StorageClassLister
	baseDir string
	node    string
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the provisioner's identity")
	baseDir := flag.String("base-dir", "", "folder that holds one directory per volume")
	node := flag.String("node", "", "name of the node the volumes live on")
	flag.Parse()
	if *kubeconfig == "" || *baseDir == "" || *node == "" {
		log.Fatal("local-volumes: --kubeconfig, --base-dir and --node are required")
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatalf("local-volumes: reading %s: %v", *kubeconfig, err)
	}
	client := kubernetes.NewForConfigOrDie(config)
	if err := os.MkdirAll(*baseDir, 0o700); err != nil {
		log.Fatalf("local-volumes: %v", err)
	}

	factory := informers.NewSharedInformerFactory(client, 0)
	p := &provisioner{
		client:  client,
		claims:  factory.Core().V1().PersistentVolumeClaims().Lister(),
		volumes: factory.Core().V1().PersistentVolumes().Lister(),
		classes: factory.Storage().V1().StorageClasses().Lister(),
		baseDir: *baseDir,
		node:    *node,
	}
	// Any change is only a hint to look again: each pass works from the listers' current state.
	wake := make(chan struct{}, 1)
	hint := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify(wake) },
		UpdateFunc: func(any, any) { notify(wake) },
		DeleteFunc: func(any) { notify(wake) },
	}
	for _, informer := range []cache.SharedIndexInformer{
		factory.Core().V1().PersistentVolumeClaims().Informer(),
		factory.Core().V1().PersistentVolumes().Informer(),
		factory.Storage().V1().StorageClasses().Informer(),
	} {
		if _, err := informer.AddEventHandler(hint); err != nil {
			log.Fatalf("local-volumes: %v", err)
		}
	}
	ctx := context.Background()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	log.Printf("local-volumes: provisioning %s volumes for node %s under %s", provisionerName, *node, *baseDir)
	for {
		p.reconcile(ctx)
		select {
		case <-wake:
		case <-time.After(reconcileInterval):
		}
	}
}

func notify(wake chan struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

func (p *provisioner) reconcile(ctx context.Context) {
	claims, err := p.claims.List(labels.Everything())
	if err != nil {
		log.Printf("local-volumes: listing claims: %v", err)
		return
	}
	for _, claim := range claims {
		if class := p.wants(claim); class != nil {
			if err := p.provision(ctx, claim, class); err != nil {
				log.Printf("local-volumes: provisioning %s/%s: %v", claim.Namespace, claim.Name, err)
			}
		}
	}
	volumes, err := p.volumes.List(labels.Everything())
	if err != nil {
		log.Printf("local-volumes: listing volumes: %v", err)
		return
	}
	for _, volume := range volumes {
		if volume.Annotations[annProvisionedBy] == provisionerName && volume.Status.Phase == corev1.VolumeReleased &&
			volume.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete {
			if err := p.remove(ctx, volume); err != nil {
				log.Printf("local-volumes: deleting %s: %v", volume.Name, err)
			}
		}
	}
}

// wants returns the claim's StorageClass when the claim is waiting for this provisioner.
func (p *provisioner) wants(claim *corev1.PersistentVolumeClaim) *storagev1.StorageClass {
	if claim.Spec.VolumeName != "" || claim.Status.Phase != corev1.ClaimPending || claim.DeletionTimestamp != nil {
		return nil
	}
	// The PV controller names the provisioner it waits for once it finds no volume to bind.
	if claim.Annotations[annWantedBy] != provisionerName && claim.Annotations[annWantedByBeta] != provisionerName {
		return nil
	}
	if claim.Spec.StorageClassName == nil {
		return nil
	}
	class, err := p.classes.Get(*claim.Spec.StorageClassName)
	if err != nil || class.Provisioner != provisionerName {
		return nil
	}
	waits := class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer
	if waits && claim.Annotations[annSelectedNode] != p.node {
		return nil // the scheduler has not placed its first pod yet (or placed it elsewhere)
	}
	return class
}

func (p *provisioner) provision(ctx context.Context, claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) error {
	name := "pvc-" + string(claim.UID)
	if _, err := p.volumes.Get(name); err == nil {
		return nil // made already; the PV controller binds it
	}
	size, ok := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return fmt.Errorf("the claim requests no storage size")
	}
	dir := filepath.Join(p.baseDir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o777); err != nil { // explicit: MkdirAll's mode passes through the umask
		return err
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	volume := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{annProvisionedBy: provisionerName}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   claim.Spec.AccessModes,
			VolumeMode:                    claim.Spec.VolumeMode,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			PersistentVolumeReclaimPolicy: reclaim,
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID, ResourceVersion: claim.ResourceVersion,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: dir}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{p.node},
				}}}},
			}},
		},
	}
	if _, err := p.client.CoreV1().PersistentVolumes().Create(ctx, volume, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	log.Printf("local-volumes: %s for %s/%s at %s", name, claim.Namespace, claim.Name, dir)
	return nil
}

func (p *provisioner) remove(ctx context.Context, volume *corev1.PersistentVolume) error {
	if volume.Spec.Local == nil {
		return fmt.Errorf("not a local volume")
	}
	dir := filepath.Clean(volume.Spec.Local.Path)
	// Never remove anything outside the base folder, whatever a volume object says.
	if filepath.Dir(dir) != filepath.Clean(p.baseDir) || !strings.HasPrefix(filepath.Base(dir), "pvc-") {
		return fmt.Errorf("refusing to remove %s: not a volume directory under %s", dir, p.baseDir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	err := p.client.CoreV1().PersistentVolumes().Delete(ctx, volume.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	log.Printf("local-volumes: deleted %s", volume.Name)
	return nil
}
