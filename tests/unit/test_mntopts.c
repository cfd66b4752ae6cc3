/*
 * test_mntopts.c - ckfs_opts_parse against the option table of docs/mount.md ("Options").
 */
#include "mntopts.h"

#include "check_run.h"

#include <check.h>
#include <string.h>

static char g_msg[512];

static int parse(ckfs_opts *o, const char *arg)
{
    g_msg[0] = '\0';
    return ckfs_opts_parse(o, arg, g_msg, sizeof g_msg);
}

static ckfs_opts parsed_ok(const char *arg)
{
    ckfs_opts o;
    ckfs_opts_init(&o);
    ck_assert_msg(parse(&o, arg) == 0, "%s: %s", arg, g_msg);
    return o;
}

/* arg is rejected with a message that contains want. */
static void rejected(const char *arg, const char *want)
{
    ckfs_opts o;
    ckfs_opts_init(&o);
    ck_assert_msg(parse(&o, arg) == -1, "%s was accepted", arg);
    ck_assert_msg(strstr(g_msg, want) != NULL, "%s: message '%s' lacks '%s'", arg, g_msg, want);
}

START_TEST(defaults_are_all_off)
{
    ckfs_opts o = parsed_ok("");
    ck_assert_int_eq(o.have_uid + o.have_gid + o.have_umask, 0);
    ck_assert_int_eq(o.allow_other + o.allow_root + o.force + o.npy + o.splice + o.verify, 0);
    ck_assert_int_eq(o.max_threads, 0);
    ck_assert_str_eq(o.kernel, "");
}
END_TEST

START_TEST(owner_and_mode)
{
    ckfs_opts o = parsed_ok("uid=1000,gid=0,umask=027");
    ck_assert(o.have_uid && o.have_gid && o.have_umask);
    ck_assert_uint_eq(o.uid, 1000);
    ck_assert_uint_eq(o.gid, 0);
    ck_assert_uint_eq(o.umask, 027); /* octal: 23 decimal */
    o = parsed_ok("umask=777");
    ck_assert_uint_eq(o.umask, 0777);
    o = parsed_ok("uid=4294967294"); /* the largest id that is not (uid_t)-1 */
    ck_assert_uint_eq(o.uid, 4294967294u);
}
END_TEST

START_TEST(switches)
{
    ckfs_opts o = parsed_ok("allow_other,allow_root,force,npy");
    ck_assert_int_eq(o.allow_other, 1);
    ck_assert_int_eq(o.allow_root, 1);
    ck_assert_int_eq(o.force, 1);
    ck_assert_int_eq(o.npy, 1);
    ck_assert_int_eq(o.splice, 0);
}
END_TEST

START_TEST(read_mode_and_threads)
{
    ckfs_opts o = parsed_ok("read=splice,max_threads=8");
    ck_assert_int_eq(o.splice, 1);
    ck_assert_int_eq(o.max_threads, 8);
    o = parsed_ok("read=splice,read=buf");
    ck_assert_int_eq(o.splice, 0);
    o = parsed_ok("max_threads=1024");
    ck_assert_int_eq(o.max_threads, 1024);
}
END_TEST

/* docs/mount.md: verify=sequential (the default), open, off; anything else names the option
 * and the words it takes. */
START_TEST(verify_modes)
{
    ck_assert_int_eq(parsed_ok("").verify, CKFS_VERIFY_SEQUENTIAL);
    ck_assert_int_eq(parsed_ok("verify=open").verify, CKFS_VERIFY_OPEN);
    ck_assert_int_eq(parsed_ok("verify=off").verify, CKFS_VERIFY_OFF);
    ck_assert_int_eq(parsed_ok("verify=off,verify=sequential").verify, CKFS_VERIFY_SEQUENTIAL);
    ck_assert_int_eq(parsed_ok("verify=open,read=splice").splice, 1);
    rejected("verify=bogus", "option verify must be 'sequential', 'open' or 'off', got 'bogus'");
    rejected("verify=", "verify");
    rejected("verify", "verify");
    rejected("verify=Open", "'Open'");
    rejected("read=mmap", "option read must be 'buf' or 'splice', got 'mmap'");
}
END_TEST

START_TEST(kernel_flags_are_passed_on_in_order)
{
    ckfs_opts o = parsed_ok("nosuid,nodev,noexec,noatime,nodiratime,dirsync");
    ck_assert_str_eq(o.kernel, "nosuid,nodev,noexec,noatime,nodiratime,dirsync");
}
END_TEST

/* mount(8) and fstab pass these to every helper; none changes anything. */
START_TEST(fstab_noise_is_ignored)
{
    ckfs_opts o = parsed_ok("ro,rw,defaults,auto,noauto,user,users,nofail,_netdev,"
                            "x-systemd.automount,x-systemd.idle-timeout=60,comment=hi,"
                            "relatime,default_permissions,,");
    ckfs_opts none;
    ckfs_opts_init(&none);
    ck_assert_mem_eq(&o, &none, sizeof o);
}
END_TEST

START_TEST(backslash_escapes_a_comma)
{
    /* The comma inside the comment value does not start a new option. */
    ckfs_opts o = parsed_ok("comment=a\\,frobnicate,npy");
    ck_assert_int_eq(o.npy, 1);
}
END_TEST

START_TEST(unknown_options_are_named)
{
    rejected("frobnicate", "unknown option 'frobnicate'");
    rejected("npy,frobnicate", "'frobnicate'");
    rejected("allow_other=1", "unknown option 'allow_other=1'");
    rejected("ro=1", "'ro=1'");
    rejected("comment", "'comment'"); /* fstab comments carry a value */
    rejected("nosuid=1", "'nosuid=1'");
}
END_TEST

START_TEST(bad_numbers_are_rejected)
{
    rejected("uid=", "uid");
    rejected("uid", "uid");
    rejected("uid=abc", "'abc'");
    rejected("uid=-1", "'-1'");
    rejected("gid=12x", "'12x'");
    rejected("uid=4294967295", "uid");
    rejected("uid=99999999999999999999", "uid");
    rejected("umask=8", "umask");
    rejected("umask=1000", "'1000'");
    rejected("umask=-022", "umask");
    rejected("max_threads=0", "max_threads");
    rejected("max_threads=1025", "'1025'");
    rejected("read=mmap", "'mmap'");
    rejected("read", "read");
}
END_TEST

START_TEST(live_folder_options)
{
    /* docs/mount.md: poll= defaults to 1 s, idle= to 30 s; decimals allowed */
    ckfs_opts o = parsed_ok("");
    ck_assert(o.poll == 1.0 && o.idle == 30.0 && o.noinotify == 0);
    o = parsed_ok("poll=5,idle=600");
    ck_assert(o.poll == 5.0 && o.idle == 600.0);
    o = parsed_ok("poll=0.25,idle=0,noinotify");
    ck_assert(o.poll == 0.25 && o.idle == 0.0 && o.noinotify == 1);
    static const char *const bad[] = {
        "poll",       "poll=",     "poll=0", "poll=-1", "poll=abc", "poll=1s",
        "poll=86401", "idle=-0.5", "idle=",  "idle=x",  "idle",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        rejected(bad[k], bad[k][0] == 'p' ? "option poll" : "option idle");
}
END_TEST

START_TEST(include_and_exclude_accumulate)
{
    /* docs/mount.md: repeatable, or ':'-separated; both forms join into one list */
    ckfs_opts o = parsed_ok("exclude=*/Adam*,include=dense/*,exclude=beta*:global_step");
    ck_assert_str_eq(o.include, "dense/*");
    ck_assert_str_eq(o.exclude, "*/Adam*:beta*:global_step");
    ck_assert_int_eq(parse(&o, "include=out/*"), 0);
    ck_assert_str_eq(o.include, "dense/*:out/*");
    /* a comma inside a glob needs the backslash escape */
    o = parsed_ok("exclude=a\\,b*");
    ck_assert_str_eq(o.exclude, "a,b*");
    rejected("include=", "include");
    rejected("exclude", "exclude");
}
END_TEST

START_TEST(later_values_win_across_calls)
{
    ckfs_opts o;
    ckfs_opts_init(&o);
    ck_assert_int_eq(parse(&o, "uid=1,npy"), 0);
    ck_assert_int_eq(parse(&o, "uid=2"), 0);
    ck_assert_uint_eq(o.uid, 2);
    ck_assert_int_eq(o.npy, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mntopts");
    TCase *tc = tcase_create("mntopts");
    tcase_add_test(tc, defaults_are_all_off);
    tcase_add_test(tc, include_and_exclude_accumulate);
    tcase_add_test(tc, owner_and_mode);
    tcase_add_test(tc, switches);
    tcase_add_test(tc, read_mode_and_threads);
    tcase_add_test(tc, verify_modes);
    tcase_add_test(tc, kernel_flags_are_passed_on_in_order);
    tcase_add_test(tc, fstab_noise_is_ignored);
    tcase_add_test(tc, backslash_escapes_a_comma);
    tcase_add_test(tc, unknown_options_are_named);
    tcase_add_test(tc, bad_numbers_are_rejected);
    tcase_add_test(tc, later_values_win_across_calls);
    tcase_add_test(tc, live_folder_options);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
