//! Pickles produced by real Python, embedded as bytes (generated once; the
//! tests never run Python).
//!
//! Generated with CPython 3.11.7 and cloudpickle 3.1.2, with numpy 2.4.6 +
//! pandas 3.1.1 (`NP2_`, `PD3_` and the plain Python values) or numpy 1.26.4 +
//! pandas 2.2.3 (`NP1_`, `PD2_`), where
//! `D = {'a': 'gASVBQAAAAAAAABLAS4=', 'b': None, 'ünï': 'x'}`,
//! `a = np.array([1, 2, 3], dtype=np.int8)`,
//! `df = pd.DataFrame({'x': [1, 2], 'y': [3, 4]}, dtype='int8')` and
//! `ser = pd.Series([1, 2], dtype='int8')`.

// ---- dicts of str for `read_str_dict` ----

/// `pickle.dumps(D, protocol=0)`
pub(super) const DICT_P0: &[u8] = b"\
    (dp0\nVa\np1\nVgASVBQAAAAAAAABLAS4=\np2\nsVb\np3\nNsV\xfcn\xef\np4\nVx\np5\ns.";

/// `pickle.dumps(D, protocol=1)`
pub(super) const DICT_P1: &[u8] = b"\
    }q\x00(X\x01\x00\x00\x00aq\x01X\x14\x00\x00\x00gASVBQAAAAAAAABLAS4=q\x02X\x01\x00\x00\x00bq\
    \x03NX\x05\x00\x00\x00\xc3\xbcn\xc3\xafq\x04X\x01\x00\x00\x00xq\x05u.";

/// `pickle.dumps(D, protocol=2)`
pub(super) const DICT_P2: &[u8] = b"\
    \x80\x02}q\x00(X\x01\x00\x00\x00aq\x01X\x14\x00\x00\x00gASVBQAAAAAAAABLAS4=q\x02X\x01\x00\
    \x00\x00bq\x03NX\x05\x00\x00\x00\xc3\xbcn\xc3\xafq\x04X\x01\x00\x00\x00xq\x05u.";

/// `pickle.dumps(D, protocol=3)`
pub(super) const DICT_P3: &[u8] = b"\
    \x80\x03}q\x00(X\x01\x00\x00\x00aq\x01X\x14\x00\x00\x00gASVBQAAAAAAAABLAS4=q\x02X\x01\x00\
    \x00\x00bq\x03NX\x05\x00\x00\x00\xc3\xbcn\xc3\xafq\x04X\x01\x00\x00\x00xq\x05u.";

/// `pickle.dumps(D, protocol=4)`
pub(super) const DICT_P4: &[u8] = b"\
    \x80\x04\x951\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94\x8c\x14gASVBQAAAAAAAABLAS4=\
    \x94\x8c\x01b\x94N\x8c\x05\xc3\xbcn\xc3\xaf\x94\x8c\x01x\x94u.";

/// `pickle.dumps(D, protocol=5)`
pub(super) const DICT_P5: &[u8] = b"\
    \x80\x05\x951\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94\x8c\x14gASVBQAAAAAAAABLAS4=\
    \x94\x8c\x01b\x94N\x8c\x05\xc3\xbcn\xc3\xaf\x94\x8c\x01x\x94u.";

/// `cloudpickle.dumps(D)`
pub(super) const DICT_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x951\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94\x8c\x14gASVBQAAAAAAAABLAS4=\
    \x94\x8c\x01b\x94N\x8c\x05\xc3\xbcn\xc3\xaf\x94\x8c\x01x\x94u.";

/// `s = 'zz'; pickle.dumps({s: s, 'q': s}, protocol=0)`
pub(super) const MEMO_P0: &[u8] = b"\
    (dp0\nVzz\np1\ng1\nsVq\np2\ng1\ns.";

/// `s = 'zz'; pickle.dumps({s: s, 'q': s}, protocol=1)`
pub(super) const MEMO_P1: &[u8] = b"\
    }q\x00(X\x02\x00\x00\x00zzq\x01h\x01X\x01\x00\x00\x00qq\x02h\x01u.";

/// `s = 'zz'; pickle.dumps({s: s, 'q': s}, protocol=4)`
pub(super) const MEMO_P4: &[u8] = b"\
    \x80\x04\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02zz\x94h\x01\x8c\x01q\x94h\x01u.";

/// `pickle.dumps({'a\n\\\u1234\U0001f600 \x00\xe9': 'x'}, protocol=0)`
pub(super) const ESCAPES_P0: &[u8] = b"\
    (dp0\nVa\\u000a\\u005c\\u1234\\U0001f600 \\u0000\xe9\np1\nVx\np2\ns.";

// ---- stored values for `type_hint` ----

/// `cloudpickle.dumps(a)`: `array`
pub(super) const NP2_ARRAY_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95w\x00\x00\x00\x00\x00\x00\x00\x8c\x13numpy._core.numeric\x94\x8c\x0b_frombuffer\
    \x94\x93\x94(\x96\x03\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x94\x8c\x05numpy\x94\x8c\x05d\
    type\x94\x93\x94\x8c\x02i1\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\
    \xff\xff\xff\xffK\x00t\x94bK\x03\x85\x94\x8c\x01C\x94t\x94R\x94.";

/// `pickle.dumps(a, 0)`: `array`
pub(super) const NP2_ARRAY_P0: &[u8] = b"\
    cnumpy._core.multiarray\n_reconstruct\np0\n(cnumpy\nndarray\np1\n(I0\ntp2\nc_codecs\nencode\
    \np3\n(Vb\np4\nVlatin1\np5\ntp6\nRp7\ntp8\nRp9\n(I1\n(I3\ntp10\ncnumpy\ndtype\np11\n(Vi1\np\
    12\nI00\nI01\ntp13\nRp14\n(I3\nV|\np15\nNNNI-1\nI-1\nI0\ntp16\nbI00\ng3\n(V\x01\x02\x03\np1\
    7\ng5\ntp18\nRp19\ntp20\nb.";

/// `pickle.dumps(a, 4)`: `array`
pub(super) const NP2_ARRAY_P4: &[u8] = b"\
    \x80\x04\x95\x8c\x00\x00\x00\x00\x00\x00\x00\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reco\
    nstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\
    \x94R\x94(K\x01K\x03\x85\x94h\x03\x8c\x05dtype\x94\x93\x94\x8c\x02i1\x94\x89\x88\x87\x94R\
    \x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x03\x01\x02\
    \x03\x94t\x94b.";

/// `cloudpickle.dumps(np.array([1, 'a'], dtype=object))`: `array`
pub(super) const NP2_OBJECT_ARRAY_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\x90\x00\x00\x00\x00\x00\x00\x00\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reco\
    nstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\
    \x94R\x94(K\x01K\x02\x85\x94h\x03\x8c\x05dtype\x94\x93\x94\x8c\x02O8\x94\x89\x88\x87\x94R\
    \x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?t\x94b\x89]\x94(K\x01\x8c\x01\
    a\x94et\x94b.";

/// `cloudpickle.dumps(df)`: `table`
pub(super) const PD3_DATAFRAME_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\x12\x03\x00\x00\x00\x00\x00\x00\x8c\x06pandas\x94\x8c\x09DataFrame\x94\x93\x94\
    )\x81\x94}\x94(\x8c\x04_mgr\x94\x8c\x1epandas.core.internals.managers\x94\x8c\x0cBlockManag\
    er\x94\x93\x94\x8c\x16pandas._libs.internals\x94\x8c\x0f_unpickle_block\x94\x93\x94\x8c\x13\
    numpy._core.numeric\x94\x8c\x0b_frombuffer\x94\x93\x94(\x96\x04\x00\x00\x00\x00\x00\x00\x00\
    \x01\x02\x03\x04\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02i1\x94\x89\x88\x87\
    \x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02K\x02\x86\
    \x94\x8c\x01C\x94t\x94R\x94\x8c\x08builtins\x94\x8c\x05slice\x94\x93\x94K\x00K\x02K\x01\x87\
    \x94R\x94K\x02\x87\x94R\x94\x85\x94]\x94(\x8c\x18pandas.core.indexes.base\x94\x8c\n_new_Ind\
    ex\x94\x93\x94h\x00\x8c\x05Index\x94\x93\x94}\x94(\x8c\x04data\x94\x8c\x13pandas._libs.arra\
    ys\x94\x8c\x1c__pyx_unpickle_NDArrayBacked\x94\x93\x94\x8c\x0dpandas.arrays\x94\x8c\x0bStri\
    ngArray\x94\x93\x94J\x1f\x06\xf1\x04N\x87\x94R\x94h\x00\x8c\x0bStringDtype\x94\x93\x94\x8c\
    \x06python\x94G\x7f\xf8\x00\x00\x00\x00\x00\x00\x86\x94R\x94\x8c\x16numpy._core.multiarray\
    \x94\x8c\x0c_reconstruct\x94\x93\x94h\x10\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\
    \x87\x94R\x94(K\x01K\x02\x85\x94h\x12\x8c\x02O8\x94\x89\x88\x87\x94R\x94(K\x03h\x16NNNJ\xff\
    \xff\xff\xffJ\xff\xff\xff\xffK?t\x94b\x89]\x94(\x8c\x01x\x94\x8c\x01y\x94et\x94b\x86\x94b\
    \x8c\x04name\x94Nu\x86\x94R\x94h'h\x00\x8c\nRangeIndex\x94\x93\x94}\x94(hLN\x8c\x05start\
    \x94K\x00\x8c\x04stop\x94K\x02\x8c\x04step\x94K\x01u\x86\x94R\x94e\x86\x94R\x94\x8c\x04_typ\
    \x94\x8c\x09dataframe\x94\x8c\x09_metadata\x94]\x94\x8c\x05attrs\x94}\x94\x8c\x06_flags\x94\
    }\x94\x8c\x17allows_duplicate_labels\x94\x88sub.";

/// `pickle.dumps(ser, 2)`: `table`
pub(super) const PD3_SERIES_P2: &[u8] = b"\
    \x80\x02cpandas\nSeries\nq\x00)\x81q\x01}q\x02(X\x04\x00\x00\x00_mgrq\x03cpandas.core.inter\
    nals.managers\nSingleBlockManager\nq\x04)\x81q\x05(]q\x06cpandas.core.indexes.base\n_new_In\
    dex\nq\x07cpandas\nRangeIndex\nq\x08}q\x09(X\x04\x00\x00\x00nameq\nNX\x05\x00\x00\x00startq\
    \x0bK\x00X\x04\x00\x00\x00stopq\x0cK\x02X\x04\x00\x00\x00stepq\x0dK\x01u\x86q\x0eRq\x0fa]q\
    \x10cnumpy._core.multiarray\n_reconstruct\nq\x11cnumpy\nndarray\nq\x12K\x00\x85q\x13c_codec\
    s\nencode\nq\x14X\x01\x00\x00\x00bq\x15X\x06\x00\x00\x00latin1q\x16\x86q\x17Rq\x18\x87q\x19\
    Rq\x1a(K\x01K\x02\x85q\x1bcnumpy\ndtype\nq\x1cX\x02\x00\x00\x00i1q\x1d\x89\x88\x87q\x1eRq\
    \x1f(K\x03X\x01\x00\x00\x00|q NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq!b\x89h\x14X\x02\
    \x00\x00\x00\x01\x02q\"h\x16\x86q#Rq$tq%ba]q&h\x07h\x08}q'(h\nNh\x0bK\x00h\x0cK\x02h\x0dK\
    \x01u\x86q(Rq)a}q*X\x06\x00\x00\x000.14.1q+}q,(X\x04\x00\x00\x00axesq-h\x06X\x06\x00\x00\
    \x00blocksq.]q/}q0(X\x06\x00\x00\x00valuesq1h\x1aX\x08\x00\x00\x00mgr_locsq2c__builtin__\ns\
    lice\nq3K\x00K\x02K\x01\x87q4Rq5uaustq6bX\x04\x00\x00\x00_typq7X\x06\x00\x00\x00seriesq8X\
    \x09\x00\x00\x00_metadataq9]q:X\x05\x00\x00\x00_nameq;aX\x05\x00\x00\x00attrsq<}q=X\x06\x00\
    \x00\x00_flagsq>}q?X\x17\x00\x00\x00allows_duplicate_labelsq@\x88sh;Nub.";

/// `cloudpickle.dumps(np.float64(1.5))`: `numeric`
pub(super) const NP2_FLOAT64_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95j\x00\x00\x00\x00\x00\x00\x00\x8c\x16numpy._core.multiarray\x94\x8c\x06scalar\
    \x94\x93\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\
    \x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bC\x08\x00\x00\x00\x00\x00\
    \x00\xf8?\x94\x86\x94R\x94.";

/// `pickle.dumps(np.int64(3), 2)`: `numeric`
pub(super) const NP2_INT64_P2: &[u8] = b"\
    \x80\x02cnumpy._core.multiarray\nscalar\nq\x00cnumpy\ndtype\nq\x01X\x02\x00\x00\x00i8q\x02\
    \x89\x88\x87q\x03Rq\x04(K\x03X\x01\x00\x00\x00<q\x05NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\
    \x00tq\x06bc_codecs\nencode\nq\x07X\x08\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00q\x08X\
    \x06\x00\x00\x00latin1q\x09\x86q\nRq\x0b\x86q\x0cRq\x0d.";

/// `cloudpickle.dumps(np.bool_(True))`: `numeric`
pub(super) const NP2_BOOL_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95c\x00\x00\x00\x00\x00\x00\x00\x8c\x16numpy._core.multiarray\x94\x8c\x06scalar\
    \x94\x93\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02b1\x94\x89\x88\x87\x94R\x94(K\
    \x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bC\x01\x01\x94\x86\x94R\x94\
    .";

/// `cloudpickle.dumps(np.str_('x'))`: `string`
pub(super) const NP2_STR_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95`\x00\x00\x00\x00\x00\x00\x00\x8c\x16numpy._core.multiarray\x94\x8c\x06scalar\
    \x94\x93\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02U1\x94\x89\x88\x87\x94R\x94(K\
    \x03\x8c\x01<\x94NNNK\x04K\x04K\x08t\x94bC\x04x\x00\x00\x00\x94\x86\x94R\x94.";

/// `cloudpickle.dumps(np.datetime64('2020-01-01'))`: `other`
pub(super) const NP2_DATETIME64_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95z\x00\x00\x00\x00\x00\x00\x00\x8c\x16numpy._core.multiarray\x94\x8c\x06scalar\
    \x94\x93\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02M8\x94\x89\x88\x87\x94R\x94(K\
    \x04\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00N(C\x01D\x94K\x01K\x01K\x01t\x94\
    \x86\x94t\x94bC\x08VG\x00\x00\x00\x00\x00\x00\x94\x86\x94R\x94.";

/// `cloudpickle.dumps([np.array([1.0])])`: `other`
pub(super) const NP2_ARRAY_IN_LIST_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\x7f\x00\x00\x00\x00\x00\x00\x00]\x94\x8c\x13numpy._core.numeric\x94\x8c\x0b_fr\
    ombuffer\x94\x93\x94(\x96\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xf0?\x94\
    \x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01\
    <\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x01\x85\x94\x8c\x01C\x94t\x94R\x94a.";

/// `pickle.dumps(1+2j, 0)`: `numeric`
pub(super) const COMPLEX_P0: &[u8] = b"\
    c__builtin__\ncomplex\np0\n(F1.0\nF2.0\ntp1\nRp2\n.";

/// `pickle.dumps(1+2j, 2)`: `numeric`
pub(super) const COMPLEX_P2: &[u8] = b"\
    \x80\x02c__builtin__\ncomplex\nq\x00G?\xf0\x00\x00\x00\x00\x00\x00G@\x00\x00\x00\x00\x00\
    \x00\x00\x86q\x01Rq\x02.";

/// `cloudpickle.dumps(1+2j)`: `numeric`
pub(super) const COMPLEX_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95.\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x07complex\x94\x93\x94G?\
    \xf0\x00\x00\x00\x00\x00\x00G@\x00\x00\x00\x00\x00\x00\x00\x86\x94R\x94.";

/// `pickle.dumps('héllo\n', 0)`: `string`
pub(super) const STR_P0: &[u8] = b"\
    Vh\xe9llo\\u000a\np0\n.";

/// `pickle.dumps('héllo\n', 1)`: `string`
pub(super) const STR_P1: &[u8] = b"\
    X\x07\x00\x00\x00h\xc3\xa9llo\nq\x00.";

/// `pickle.dumps('héllo\n', 3)`: `string`
pub(super) const STR_P3: &[u8] = b"\
    \x80\x03X\x07\x00\x00\x00h\xc3\xa9llo\nq\x00.";

/// `cloudpickle.dumps('héllo')`: `string`
pub(super) const STR_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\n\x00\x00\x00\x00\x00\x00\x00\x8c\x06h\xc3\xa9llo\x94.";

/// `pickle.dumps(5, 0)`: `numeric`
pub(super) const INT_P0: &[u8] = b"\
    I5\n.";

/// `pickle.dumps(2**70, 0)`: `numeric`
pub(super) const BIGINT_P0: &[u8] = b"\
    L1180591620717411303424L\n.";

/// `cloudpickle.dumps(-2**70)`: `numeric`
pub(super) const BIGINT_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\x0c\x00\x00\x00\x00\x00\x00\x00\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xc0.";

/// `cloudpickle.dumps(70000)`: `numeric`
pub(super) const INT_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\x06\x00\x00\x00\x00\x00\x00\x00Jp\x11\x01\x00.";

/// `pickle.dumps(1.5, 0)`: `numeric`
pub(super) const FLOAT_P0: &[u8] = b"\
    F1.5\n.";

/// `cloudpickle.dumps(1.5)`: `numeric`
pub(super) const FLOAT_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\n\x00\x00\x00\x00\x00\x00\x00G?\xf8\x00\x00\x00\x00\x00\x00.";

/// `pickle.dumps(True, 0)`: `numeric`
pub(super) const BOOL_P0: &[u8] = b"\
    I01\n.";

/// `cloudpickle.dumps(False)`: `numeric`
pub(super) const BOOL_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x89.";

/// `cloudpickle.dumps(None)`: `other`
pub(super) const NONE_CLOUDPICKLE: &[u8] = b"\
    \x80\x05N.";

/// `cloudpickle.dumps(b'ab')`: `other`
pub(super) const BYTES_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\x06\x00\x00\x00\x00\x00\x00\x00C\x02ab\x94.";

/// `cloudpickle.dumps([1, 2.5, 3])`: `other`
pub(super) const LIST_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\x12\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01G@\x04\x00\x00\x00\x00\x00\x00K\x03e\
    .";

/// `pickle.dumps([1, 2.5, 3], 0)`: `other`
pub(super) const LIST_P0: &[u8] = b"\
    (lp0\nI1\naF2.5\naI3\na.";

/// `cloudpickle.dumps((1, 2))`: `other`
pub(super) const TUPLE_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\x07\x00\x00\x00\x00\x00\x00\x00K\x01K\x02\x86\x94.";

/// `cloudpickle.dumps({'a': 1})`: `other`
pub(super) const INT_DICT_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.";

/// `cloudpickle.dumps(len)`: `other`
pub(super) const BUILTIN_FUNCTION_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\x14\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x03len\x94\x93\x94.";

/// `cloudpickle.dumps(lambda x: x)`: `other`
pub(super) const LAMBDA_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\xca\x01\x00\x00\x00\x00\x00\x00\x8c\x17cloudpickle.cloudpickle\x94\x8c\x0e_mak\
    e_function\x94\x93\x94(h\x00\x8c\x0d_builtin_type\x94\x93\x94\x8c\x08CodeType\x94\x85\x94R\
    \x94(K\x01K\x00K\x00K\x01K\x01K\x03C\x06\x97\x00|\x00S\x00\x94N\x85\x94)\x8c\x01x\x94\x85\
    \x94\x8c\x14/tmp/gen/gen_hint.py\x94\x8c\x08<lambda>\x94h\x0dK,C\x06\x80\x00\xb8!\x80\x00\
    \x94C\x00\x94))t\x94R\x94}\x94(\x8c\x0b__package__\x94N\x8c\x08__name__\x94\x8c\x08__main__\
    \x94\x8c\x08__file__\x94h\x0cuNNNt\x94R\x94\x8c\x1ccloudpickle.cloudpickle_fast\x94\x8c\x12\
    _function_setstate\x94\x93\x94h\x18}\x94}\x94(h\x14h\x0d\x8c\x0c__qualname__\x94h\x0d\x8c\
    \x0f__annotations__\x94}\x94\x8c\x0e__kwdefaults__\x94N\x8c\x0c__defaults__\x94N\x8c\n__mod\
    ule__\x94h\x15\x8c\x07__doc__\x94N\x8c\x0b__closure__\x94N\x8c\x17_cloudpickle_submodules\
    \x94]\x94\x8c\x0b__globals__\x94}\x94u\x86\x94\x86R0.";

/// `cloudpickle.dumps(datetime.date(2020, 1, 2))`: `other`
pub(super) const DATETIME_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95 \x00\x00\x00\x00\x00\x00\x00\x8c\x08datetime\x94\x8c\x04date\x94\x93\x94C\x04\
    \x07\xe4\x01\x02\x94\x85\x94R\x94.";

/// `cloudpickle.dumps(a)`: `array`
pub(super) const NP1_ARRAY_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95v\x00\x00\x00\x00\x00\x00\x00\x8c\x12numpy.core.numeric\x94\x8c\x0b_frombuffer\
    \x94\x93\x94(\x96\x03\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x94\x8c\x05numpy\x94\x8c\x05d\
    type\x94\x93\x94\x8c\x02i1\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\
    \xff\xff\xff\xffK\x00t\x94bK\x03\x85\x94\x8c\x01C\x94t\x94R\x94.";

/// `pickle.dumps(a, 2)`: `array`
pub(super) const NP1_ARRAY_P2: &[u8] = b"\
    \x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85q\x02c_co\
    decs\nencode\nq\x03X\x01\x00\x00\x00bq\x04X\x06\x00\x00\x00latin1q\x05\x86q\x06Rq\x07\x87q\
    \x08Rq\x09(K\x01K\x03\x85q\ncnumpy\ndtype\nq\x0bX\x02\x00\x00\x00i1q\x0c\x89\x88\x87q\x0dRq\
    \x0e(K\x03X\x01\x00\x00\x00|q\x0fNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x10b\x89h\x03\
    X\x03\x00\x00\x00\x01\x02\x03q\x11h\x05\x86q\x12Rq\x13tq\x14b.";

/// `cloudpickle.dumps(np.ma.array([1, 2]))`: `array`
pub(super) const NP1_MASKED_ARRAY_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\xab\x00\x00\x00\x00\x00\x00\x00\x8c\x0dnumpy.ma.core\x94\x8c\x0e_mareconstruct\
    \x94\x93\x94(h\x00\x8c\x0bMaskedArray\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\
    \x94K\x00\x85\x94\x8c\x01b\x94t\x94R\x94(K\x01K\x02\x85\x94h\x05\x8c\x05dtype\x94\x93\x94\
    \x8c\x02i8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff\
    K\x00t\x94b\x89C\x10\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x94C\
    \x02\x00\x00\x94Nt\x94b.";

/// `cloudpickle.dumps(df)`: `table`
pub(super) const PD2_DATAFRAME_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95\xa9\x02\x00\x00\x00\x00\x00\x00\x8c\x11pandas.core.frame\x94\x8c\x09DataFrame\
    \x94\x93\x94)\x81\x94}\x94(\x8c\x04_mgr\x94\x8c\x1epandas.core.internals.managers\x94\x8c\
    \x0cBlockManager\x94\x93\x94\x8c\x16pandas._libs.internals\x94\x8c\x0f_unpickle_block\x94\
    \x93\x94\x8c\x12numpy.core.numeric\x94\x8c\x0b_frombuffer\x94\x93\x94(\x96\x04\x00\x00\x00\
    \x00\x00\x00\x00\x01\x02\x03\x04\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02i1\
    \x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94\
    bK\x02K\x02\x86\x94\x8c\x01C\x94t\x94R\x94\x8c\x08builtins\x94\x8c\x05slice\x94\x93\x94K\
    \x00K\x02K\x01\x87\x94R\x94K\x02\x87\x94R\x94\x85\x94]\x94(\x8c\x18pandas.core.indexes.base\
    \x94\x8c\n_new_Index\x94\x93\x94h%\x8c\x05Index\x94\x93\x94}\x94(\x8c\x04data\x94\x8c\x15nu\
    mpy.core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94h\x10\x8c\x07ndarray\x94\x93\x94K\
    \x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x02\x85\x94h\x12\x8c\x02O8\x94\x89\x88\x87\x94R\
    \x94(K\x03h\x16NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?t\x94b\x89]\x94(\x8c\x01x\x94\x8c\x01\
    y\x94et\x94b\x8c\x04name\x94Nu\x86\x94R\x94h'\x8c\x19pandas.core.indexes.range\x94\x8c\nRan\
    geIndex\x94\x93\x94}\x94(h>N\x8c\x05start\x94K\x00\x8c\x04stop\x94K\x02\x8c\x04step\x94K\
    \x01u\x86\x94R\x94e\x86\x94R\x94\x8c\x04_typ\x94\x8c\x09dataframe\x94\x8c\x09_metadata\x94]\
    \x94\x8c\x05attrs\x94}\x94\x8c\x06_flags\x94}\x94\x8c\x17allows_duplicate_labels\x94\x88sub\
    .";

/// `pickle.dumps(df, 0)`: `table`
pub(super) const PD2_DATAFRAME_P0: &[u8] = b"\
    ccopy_reg\n_reconstructor\np0\n(cpandas.core.frame\nDataFrame\np1\nc__builtin__\nobject\np2\
    \nNtp3\nRp4\n(dp5\nV_mgr\np6\ncpandas.core.internals.managers\nBlockManager\np7\n((cpandas.\
    _libs.internals\n_unpickle_block\np8\n(cnumpy.core.multiarray\n_reconstruct\np9\n(cnumpy\nn\
    darray\np10\n(I0\ntp11\nc_codecs\nencode\np12\n(Vb\np13\nVlatin1\np14\ntp15\nRp16\ntp17\nRp\
    18\n(I1\n(I2\nI2\ntp19\ncnumpy\ndtype\np20\n(Vi1\np21\nI00\nI01\ntp22\nRp23\n(I3\nV|\np24\n\
    NNNI-1\nI-1\nI0\ntp25\nbI00\ng12\n(V\x01\x02\x03\x04\np26\ng14\ntp27\nRp28\ntp29\nbc__built\
    in__\nslice\np30\n(I0\nI2\nI1\ntp31\nRp32\nI2\ntp33\nRp34\ntp35\n(lp36\ncpandas.core.indexe\
    s.base\n_new_Index\np37\n(cpandas.core.indexes.base\nIndex\np38\n(dp39\nVdata\np40\ng9\n(g1\
    0\n(I0\ntp41\ng16\ntp42\nRp43\n(I1\n(I2\ntp44\ng20\n(VO8\np45\nI00\nI01\ntp46\nRp47\n(I3\ng\
    24\nNNNI-1\nI-1\nI63\ntp48\nbI00\n(lp49\nVx\np50\naVy\np51\natp52\nbsVname\np53\nNstp54\nRp\
    55\nag37\n(cpandas.core.indexes.range\nRangeIndex\np56\n(dp57\ng53\nNsVstart\np58\nI0\nsVst\
    op\np59\nI2\nsVstep\np60\nI1\nstp61\nRp62\natp63\nRp64\nsV_typ\np65\nVdataframe\np66\nsV_me\
    tadata\np67\n(lp68\nsVattrs\np69\n(dp70\nsV_flags\np71\n(dp72\nVallows_duplicate_labels\np7\
    3\nI01\nssb.";

/// `cloudpickle.dumps(ser)`: `table`
pub(super) const PD2_SERIES_CLOUDPICKLE: &[u8] = b"\
    \x80\x05\x95A\x02\x00\x00\x00\x00\x00\x00\x8c\x12pandas.core.series\x94\x8c\x06Series\x94\
    \x93\x94)\x81\x94}\x94(\x8c\x04_mgr\x94\x8c\x1epandas.core.internals.managers\x94\x8c\x12Si\
    ngleBlockManager\x94\x93\x94)\x81\x94(]\x94\x8c\x18pandas.core.indexes.base\x94\x8c\n_new_I\
    ndex\x94\x93\x94\x8c\x19pandas.core.indexes.range\x94\x8c\nRangeIndex\x94\x93\x94}\x94(\x8c\
    \x04name\x94N\x8c\x05start\x94K\x00\x8c\x04stop\x94K\x02\x8c\x04step\x94K\x01u\x86\x94R\x94\
    a]\x94\x8c\x12numpy.core.numeric\x94\x8c\x0b_frombuffer\x94\x93\x94(\x96\x02\x00\x00\x00\
    \x00\x00\x00\x00\x01\x02\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02i1\x94\x89\
    \x88\x87\x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02\
    \x85\x94\x8c\x01C\x94t\x94R\x94a]\x94h\x0dh\x10}\x94(h\x12Nh\x13K\x00h\x14K\x02h\x15K\x01u\
    \x86\x94R\x94a}\x94\x8c\x060.14.1\x94}\x94(\x8c\x04axes\x94h\n\x8c\x06blocks\x94]\x94}\x94(\
    \x8c\x06values\x94h(\x8c\x08mgr_locs\x94\x8c\x08builtins\x94\x8c\x05slice\x94\x93\x94K\x00K\
    \x02K\x01\x87\x94R\x94uaust\x94b\x8c\x04_typ\x94\x8c\x06series\x94\x8c\x09_metadata\x94]\
    \x94\x8c\x05_name\x94a\x8c\x05attrs\x94}\x94\x8c\x06_flags\x94}\x94\x8c\x17allows_duplicate\
    _labels\x94\x88sh@Nub.";

/// `pickle.dumps(np.float64(1.5), 0)`: `numeric`
pub(super) const NP1_FLOAT64_P0: &[u8] = b"\
    cnumpy.core.multiarray\nscalar\np0\n(cnumpy\ndtype\np1\n(Vf8\np2\nI00\nI01\ntp3\nRp4\n(I3\n\
    V<\np5\nNNNI-1\nI-1\nI0\ntp6\nbc_codecs\nencode\np7\n(V\\u0000\\u0000\\u0000\\u0000\\u0000\
    \\u0000\xf8?\np8\nVlatin1\np9\ntp10\nRp11\ntp12\nRp13\n.";

/// Every stored-value vector with the hint `type_hint` must give.
pub(super) const TYPE_HINT_CASES: &[(&str, &[u8], &str)] = &[
    ("NP2_ARRAY_CLOUDPICKLE", NP2_ARRAY_CLOUDPICKLE, "array"),
    ("NP2_ARRAY_P0", NP2_ARRAY_P0, "array"),
    ("NP2_ARRAY_P4", NP2_ARRAY_P4, "array"),
    (
        "NP2_OBJECT_ARRAY_CLOUDPICKLE",
        NP2_OBJECT_ARRAY_CLOUDPICKLE,
        "array",
    ),
    (
        "PD3_DATAFRAME_CLOUDPICKLE",
        PD3_DATAFRAME_CLOUDPICKLE,
        "table",
    ),
    ("PD3_SERIES_P2", PD3_SERIES_P2, "table"),
    (
        "NP2_FLOAT64_CLOUDPICKLE",
        NP2_FLOAT64_CLOUDPICKLE,
        "numeric",
    ),
    ("NP2_INT64_P2", NP2_INT64_P2, "numeric"),
    ("NP2_BOOL_CLOUDPICKLE", NP2_BOOL_CLOUDPICKLE, "numeric"),
    ("NP2_STR_CLOUDPICKLE", NP2_STR_CLOUDPICKLE, "string"),
    (
        "NP2_DATETIME64_CLOUDPICKLE",
        NP2_DATETIME64_CLOUDPICKLE,
        "other",
    ),
    (
        "NP2_ARRAY_IN_LIST_CLOUDPICKLE",
        NP2_ARRAY_IN_LIST_CLOUDPICKLE,
        "other",
    ),
    ("COMPLEX_P0", COMPLEX_P0, "numeric"),
    ("COMPLEX_P2", COMPLEX_P2, "numeric"),
    ("COMPLEX_CLOUDPICKLE", COMPLEX_CLOUDPICKLE, "numeric"),
    ("STR_P0", STR_P0, "string"),
    ("STR_P1", STR_P1, "string"),
    ("STR_P3", STR_P3, "string"),
    ("STR_CLOUDPICKLE", STR_CLOUDPICKLE, "string"),
    ("INT_P0", INT_P0, "numeric"),
    ("BIGINT_P0", BIGINT_P0, "numeric"),
    ("BIGINT_CLOUDPICKLE", BIGINT_CLOUDPICKLE, "numeric"),
    ("INT_CLOUDPICKLE", INT_CLOUDPICKLE, "numeric"),
    ("FLOAT_P0", FLOAT_P0, "numeric"),
    ("FLOAT_CLOUDPICKLE", FLOAT_CLOUDPICKLE, "numeric"),
    ("BOOL_P0", BOOL_P0, "numeric"),
    ("BOOL_CLOUDPICKLE", BOOL_CLOUDPICKLE, "numeric"),
    ("NONE_CLOUDPICKLE", NONE_CLOUDPICKLE, "other"),
    ("BYTES_CLOUDPICKLE", BYTES_CLOUDPICKLE, "other"),
    ("LIST_CLOUDPICKLE", LIST_CLOUDPICKLE, "other"),
    ("LIST_P0", LIST_P0, "other"),
    ("TUPLE_CLOUDPICKLE", TUPLE_CLOUDPICKLE, "other"),
    ("INT_DICT_CLOUDPICKLE", INT_DICT_CLOUDPICKLE, "other"),
    (
        "BUILTIN_FUNCTION_CLOUDPICKLE",
        BUILTIN_FUNCTION_CLOUDPICKLE,
        "other",
    ),
    ("LAMBDA_CLOUDPICKLE", LAMBDA_CLOUDPICKLE, "other"),
    ("DATETIME_CLOUDPICKLE", DATETIME_CLOUDPICKLE, "other"),
    ("NP1_ARRAY_CLOUDPICKLE", NP1_ARRAY_CLOUDPICKLE, "array"),
    ("NP1_ARRAY_P2", NP1_ARRAY_P2, "array"),
    (
        "NP1_MASKED_ARRAY_CLOUDPICKLE",
        NP1_MASKED_ARRAY_CLOUDPICKLE,
        "array",
    ),
    (
        "PD2_DATAFRAME_CLOUDPICKLE",
        PD2_DATAFRAME_CLOUDPICKLE,
        "table",
    ),
    ("PD2_DATAFRAME_P0", PD2_DATAFRAME_P0, "table"),
    ("PD2_SERIES_CLOUDPICKLE", PD2_SERIES_CLOUDPICKLE, "table"),
    ("NP1_FLOAT64_P0", NP1_FLOAT64_P0, "numeric"),
];
