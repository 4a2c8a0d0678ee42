#!/bin/bash
#
# devstack/plugin.sh
# devstack plugin for cinder-ext: installs the driver package and its
# rootwrap filters, lets lib/cinder configure backends of type cinder_ext
# (see lib/cinder_ext), and tells tempest about the backend.
#
# Called as: plugin.sh stack pre-install|install|post-config|extra|test-config
#            plugin.sh unstack
#            plugin.sh clean

# Save trace setting
_XTRACE_CINDER_EXT=$(set +o | grep xtrace)
set -o xtrace


# cinder_ext_backends [TYPE] - names of the enabled backends of type
# cinder_ext (default) or TYPE (cinder_ext_lvm)
function cinder_ext_backends {
    local be type=${1:-cinder_ext}
    for be in ${CINDER_ENABLED_BACKENDS//,/ }; do
        if [[ ${be%%:*} == $type ]]; then
            echo ${be##*:}
        fi
    done
}

# install_cinder_ext - the python package, in cinder's environment
function install_cinder_ext {
    setup_develop $CINDER_EXT_DIR
}

# install_cinder_ext_rootwrap - the filters; configure_rootwrap (run by
# configure_cinder) empties the rootwrap.d directory, so this runs again
# after it
function install_cinder_ext_rootwrap {
    if [[ ! -f $CINDER_EXT_ROOTWRAP_FILTERS ]]; then
        warn $LINENO "no rootwrap filters at $CINDER_EXT_ROOTWRAP_FILTERS"
        return 0
    fi
    sudo install -d -o root -g root -m 755 $CINDER_EXT_ROOTWRAP_DIR
    sudo install -o root -g root -m 644 $CINDER_EXT_ROOTWRAP_FILTERS \
        $CINDER_EXT_ROOTWRAP_DIR/
}

# remove_cinder_ext_rootwrap - undo install_cinder_ext_rootwrap
function remove_cinder_ext_rootwrap {
    local name
    name=$(basename $CINDER_EXT_ROOTWRAP_FILTERS)
    sudo rm -f $CINDER_EXT_ROOTWRAP_DIR/$name
}

# configure_cinder_ext - settings outside the backend sections
function configure_cinder_ext {
    if [[ -n "$CINDER_EXT_CLUSTER" ]]; then
        iniset $CINDER_CONF DEFAULT cluster $CINDER_EXT_CLUSTER
    fi
    if is_service_enabled c-bak && [[ "$CINDER_EXT_BACKUP" == "True" ]]; then
        configure_cinder_ext_backup
    fi
}

# configure_cinder_ext_backup - cinder-backup on this project's backup
# driver; runs after lib/cinder's own CINDER_BACKUP_DRIVER set-up, so it
# wins over it
function configure_cinder_ext_backup {
    sudo install -d -o $STACK_USER -m 750 $CINDER_EXT_BACKUP_REPOSITORY
    iniset $CINDER_CONF DEFAULT backup_driver $CINDER_EXT_BACKUP_DRIVER
    iniset $CINDER_CONF DEFAULT cinder_ext_backup_repository \
        $CINDER_EXT_BACKUP_REPOSITORY
}

# configure_tempest_cinder_ext - what tempest needs to know of the backend
function configure_tempest_cinder_ext {
    local conf=$TEMPEST_CONFIG
    local proto=$CINDER_EXT_TEMPEST_STORAGE_PROTOCOL
    local vendor=$CINDER_EXT_TEMPEST_VENDOR_NAME
    local be_names first
    be_names=$( (cinder_ext_backends; cinder_ext_backends cinder_ext_lvm) |
        paste -sd, -)
    first=${be_names%%,*}

    iniset $conf volume storage_protocol $proto
    iniset $conf volume vendor_name $vendor
    iniset $conf volume manage_volume_ref $CINDER_EXT_MANAGE_VOLUME_REF
    iniset $conf volume manage_snapshot_ref $CINDER_EXT_MANAGE_SNAPSHOT_REF
    iniset $conf volume-feature-enabled manage_volume True
    iniset $conf volume-feature-enabled manage_snapshot True
    iniset $conf volume-feature-enabled snapshot True
    iniset $conf volume-feature-enabled clone True
    iniset $conf volume-feature-enabled volume_revert True
    iniset $conf volume-feature-enabled extend_attached_volume \
        $CINDER_EXT_TEMPEST_EXTEND_ATTACHED
    if is_service_enabled c-bak; then
        iniset $conf volume-feature-enabled backup True
    else
        iniset $conf volume-feature-enabled backup False
    fi
    if [[ -n "$CINDER_EXT_CLUSTER" ]]; then
        iniset $conf volume-feature-enabled cluster_active_active True
    fi

    iniset $conf cinder_ext run_tests $CINDER_EXT_TEMPEST_RUN_TESTS
    iniset $conf cinder_ext backend_name $first
    iniset $conf cinder_ext vendor_name $vendor
    iniset $conf cinder_ext storage_protocol $proto
    if [[ "$CINDER_EXT_TEMPEST_CHECK_FILES" == "True" ]] && \
            [[ -n "$(cinder_ext_backends)" ]]; then
        iniset $conf cinder_ext share_path "$(cinder_ext_share_dir $first)"
    fi
}

# cleanup_cinder_ext - remove what the plugin installed, the shares (and
# every volume on them) included; clean.sh only
function cleanup_cinder_ext {
    local be
    remove_cinder_ext_rootwrap
    for be in $(cinder_ext_backends); do
        remove_cinder_ext_share $be
    done
    for be in $(cinder_ext_backends cinder_ext_lvm); do
        remove_cinder_ext_vg $be
    done
    if [[ "$CINDER_EXT_BACKUP" == "True" ]]; then
        sudo rm -rf $CINDER_EXT_BACKUP_REPOSITORY
    fi
    pip_uninstall cinder-ext
}


if is_service_enabled c-vol c-bak c-api c-sch; then
    # System packages (qemu-img: qemu-utils or qemu-img, by distribution)
    # come from devstack/files/bindep.txt, which devstack reads itself.
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "cinder-ext: installing the driver"
        install_cinder_ext
        install_cinder_ext_rootwrap

    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "cinder-ext: configuring"
        # configure_cinder has run configure_rootwrap by now
        install_cinder_ext_rootwrap
        configure_cinder_ext

    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        if is_service_enabled c-vol; then
            echo_summary "cinder-ext backends:" $(cinder_ext_backends) \
                $(cinder_ext_backends cinder_ext_lvm)
        fi

    elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        if is_service_enabled tempest; then
            echo_summary "cinder-ext: configuring tempest"
            configure_tempest_cinder_ext
        fi
    fi

    if [[ "$1" == "unstack" ]]; then
        # devstack stops the cinder services; the filters go with them.
        # The shares, and the volumes on them, stay (only clean removes
        # them): unstack.sh also runs cleanup_cinder, whose backend hook
        # (lib/cinder_ext) therefore deletes nothing.
        remove_cinder_ext_rootwrap
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_cinder_ext
    fi
fi

# Restore xtrace
$_XTRACE_CINDER_EXT

# Local variables:
# mode: shell-script
# End:
