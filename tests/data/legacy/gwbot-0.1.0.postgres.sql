--
-- PostgreSQL database dump
--

\restrict hWCfTeXZnnFigx4sbSee6jtveaC0vg3ZmSYGtLL4xGRkpHyGmSeVZ9PtAJSpcDo

-- Dumped from database version 18.6
-- Dumped by pg_dump version 18.6

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: candidate_detections; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.candidate_detections (
    key character varying(200) NOT NULL,
    candidate_id integer NOT NULL,
    mjd double precision NOT NULL,
    band character varying(8),
    mag double precision,
    posted boolean NOT NULL
);


--
-- Name: candidate_streams; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.candidate_streams (
    event_id character varying(64) NOT NULL,
    last_digest double precision NOT NULL,
    map_version integer,
    ended boolean NOT NULL
);


--
-- Name: candidates; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.candidates (
    id integer NOT NULL,
    event_id character varying(64) NOT NULL,
    broker character varying(40) NOT NULL,
    object_id character varying(80) NOT NULL,
    aliases json NOT NULL,
    ra double precision NOT NULL,
    "dec" double precision NOT NULL,
    url character varying(300),
    first_mjd double precision NOT NULL,
    last_mjd double precision NOT NULL,
    band character varying(8),
    mag double precision,
    reliability double precision,
    host_distance_mpc double precision,
    host_redshift double precision,
    map_version integer NOT NULL,
    credible_level double precision NOT NULL,
    density_per_deg2 double precision NOT NULL,
    distance_cl double precision,
    density_3d double precision,
    inside boolean NOT NULL,
    digest integer,
    created double precision NOT NULL,
    marked_by character varying(32)
);


--
-- Name: candidates_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.candidates_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: candidates_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.candidates_id_seq OWNED BY public.candidates.id;


--
-- Name: channel_ids; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.channel_ids (
    name character varying(80) NOT NULL,
    channel_id character varying(32) NOT NULL
);


--
-- Name: coverage_reads; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.coverage_reads (
    event_id character varying(64) NOT NULL,
    read_at double precision,
    tried_at double precision NOT NULL,
    map_version integer,
    problem character varying(500)
);


--
-- Name: deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.deliveries (
    id integer NOT NULL,
    lane character varying(100) NOT NULL,
    kind character varying(32) NOT NULL,
    payload json NOT NULL,
    file bytea,
    event_id character varying(64),
    depends_on integer,
    status character varying(16) NOT NULL,
    attempts integer NOT NULL,
    not_before double precision NOT NULL,
    started double precision,
    created double precision NOT NULL,
    done_at double precision,
    result json,
    last_error character varying(500),
    sender character varying(32)
);


--
-- Name: deliveries_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.deliveries_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: deliveries_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.deliveries_id_seq OWNED BY public.deliveries.id;


--
-- Name: events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.events (
    event_id character varying(64) NOT NULL,
    is_mock boolean NOT NULL,
    channel_name character varying(80),
    channel_id character varying(32),
    wants_channel boolean NOT NULL,
    summary_channel character varying(80),
    thread_ts character varying(32),
    last_alert_type character varying(16),
    last_alert_time character varying(40),
    facts json NOT NULL,
    summary json,
    retracted boolean NOT NULL,
    first_seen double precision NOT NULL,
    updated double precision NOT NULL
);


--
-- Name: footprints; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.footprints (
    instrument_id integer NOT NULL,
    name character varying(120),
    polygons json NOT NULL,
    fetched double precision NOT NULL
);


--
-- Name: footprints_instrument_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.footprints_instrument_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: footprints_instrument_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.footprints_instrument_id_seq OWNED BY public.footprints.instrument_id;


--
-- Name: handled; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.handled (
    key character varying(200) NOT NULL,
    kind character varying(16) NOT NULL,
    event_id character varying(64),
    topic character varying(200),
    partition integer,
    "offset" integer,
    stage character varying(16) NOT NULL,
    received double precision NOT NULL
);


--
-- Name: hermes_reports; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.hermes_reports (
    id integer NOT NULL,
    plan_id integer NOT NULL,
    event_id character varying(64) NOT NULL,
    message json NOT NULL,
    errors json NOT NULL,
    valid boolean NOT NULL,
    preload_key character varying(64),
    status character varying(16) NOT NULL,
    prepared_by character varying(32),
    published_by character varying(32),
    uuid character varying(64),
    note character varying(500),
    channel_id character varying(32),
    thread_ts character varying(32),
    created double precision NOT NULL
);


--
-- Name: hermes_reports_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.hermes_reports_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: hermes_reports_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.hermes_reports_id_seq OWNED BY public.hermes_reports.id;


--
-- Name: hermes_seen; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.hermes_seen (
    uuid character varying(64) NOT NULL,
    event_id character varying(64) NOT NULL,
    seen_at double precision NOT NULL
);


--
-- Name: outbox_senders; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox_senders (
    id character varying(32) NOT NULL,
    seen double precision NOT NULL
);


--
-- Name: plans; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.plans (
    id integer NOT NULL,
    event_id character varying(64) NOT NULL,
    skymap_version integer,
    facility character varying(40) NOT NULL,
    request json NOT NULL,
    summary json NOT NULL,
    payload json,
    status character varying(16) NOT NULL,
    requested_by character varying(32),
    channel_id character varying(32),
    message_ts character varying(32),
    created double precision NOT NULL,
    expires double precision NOT NULL,
    decided_by character varying(32),
    decided_at double precision,
    note character varying(2000),
    group_id integer,
    group_url character varying(300),
    request_states json NOT NULL
);


--
-- Name: plans_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.plans_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: plans_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.plans_id_seq OWNED BY public.plans.id;


--
-- Name: posts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.posts (
    id integer NOT NULL,
    event_id character varying(64) NOT NULL,
    channel_id character varying(32) NOT NULL,
    ts character varying(32) NOT NULL,
    blocks json NOT NULL,
    text character varying(4000) NOT NULL
);


--
-- Name: posts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.posts_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: posts_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.posts_id_seq OWNED BY public.posts.id;


--
-- Name: seen_pointings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.seen_pointings (
    id integer NOT NULL,
    event_id character varying(64) NOT NULL,
    tm_id integer NOT NULL,
    instrument_id integer NOT NULL,
    status character varying(16) NOT NULL,
    band character varying(16) NOT NULL,
    ra double precision NOT NULL,
    "dec" double precision NOT NULL,
    pos_angle double precision,
    "time" double precision NOT NULL,
    depth double precision,
    depth_unit character varying(16)
);


--
-- Name: seen_pointings_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.seen_pointings_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: seen_pointings_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.seen_pointings_id_seq OWNED BY public.seen_pointings.id;


--
-- Name: shared_pointings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.shared_pointings (
    id integer NOT NULL,
    plan_id integer NOT NULL,
    event_id character varying(64) NOT NULL,
    rank integer NOT NULL,
    request_id character varying(40),
    instrument_id integer NOT NULL,
    ra double precision NOT NULL,
    "dec" double precision NOT NULL,
    band character varying(16) NOT NULL,
    central_wave double precision,
    bandwidth double precision,
    depth double precision,
    depth_estimated boolean NOT NULL,
    planned_time double precision NOT NULL,
    observed_time double precision,
    status character varying(16) NOT NULL,
    reported character varying(16),
    tm_id integer
);


--
-- Name: shared_pointings_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.shared_pointings_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: shared_pointings_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.shared_pointings_id_seq OWNED BY public.shared_pointings.id;


--
-- Name: skymaps; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.skymaps (
    id integer NOT NULL,
    event_id character varying(64) NOT NULL,
    alert_key character varying(200) NOT NULL,
    alert_type character varying(16) NOT NULL,
    fits bytea NOT NULL,
    received double precision NOT NULL,
    kind character varying(16),
    created double precision,
    observatory character varying(40)
);


--
-- Name: skymaps_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.skymaps_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: skymaps_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.skymaps_id_seq OWNED BY public.skymaps.id;


--
-- Name: topic_progress; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.topic_progress (
    topic character varying(200) NOT NULL,
    last_received double precision NOT NULL,
    last_offset integer,
    silent integer,
    lag integer,
    rate double precision
);


--
-- Name: candidates id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.candidates ALTER COLUMN id SET DEFAULT nextval('public.candidates_id_seq'::regclass);


--
-- Name: deliveries id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries ALTER COLUMN id SET DEFAULT nextval('public.deliveries_id_seq'::regclass);


--
-- Name: footprints instrument_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.footprints ALTER COLUMN instrument_id SET DEFAULT nextval('public.footprints_instrument_id_seq'::regclass);


--
-- Name: hermes_reports id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.hermes_reports ALTER COLUMN id SET DEFAULT nextval('public.hermes_reports_id_seq'::regclass);


--
-- Name: plans id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plans ALTER COLUMN id SET DEFAULT nextval('public.plans_id_seq'::regclass);


--
-- Name: posts id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.posts ALTER COLUMN id SET DEFAULT nextval('public.posts_id_seq'::regclass);


--
-- Name: seen_pointings id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.seen_pointings ALTER COLUMN id SET DEFAULT nextval('public.seen_pointings_id_seq'::regclass);


--
-- Name: shared_pointings id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.shared_pointings ALTER COLUMN id SET DEFAULT nextval('public.shared_pointings_id_seq'::regclass);


--
-- Name: skymaps id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.skymaps ALTER COLUMN id SET DEFAULT nextval('public.skymaps_id_seq'::regclass);


--
-- Data for Name: candidate_detections; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.candidate_detections VALUES ('S240422ed:fink:123', 1, 60423.1, 'r', 19.7, true);


--
-- Data for Name: candidate_streams; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.candidate_streams VALUES ('S240422ed', 1713800300, 1, false);


--
-- Data for Name: candidates; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.candidates VALUES (1, 'S240422ed', 'fink', 'ZTF24aaxyzab', '["lasair:ZTF24aaxyzab"]', 120.5, -40.25, 'https://fink', 60423.1, 60424.2, 'r', 19.7, 0.9, NULL, NULL, 1, 0.42, 0.003, NULL, NULL, true, NULL, 1796402647.2311656, 'U0MARKER');


--
-- Data for Name: channel_ids; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.channel_ids VALUES ('gw-alerts', 'C0ALERTS');


--
-- Data for Name: coverage_reads; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.coverage_reads VALUES ('S240422ed', 1713810000, 1713810000, 1, NULL);


--
-- Data for Name: deliveries; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.deliveries VALUES (1, 'event:S240422ed', 'Post', '{"text": "S240422ed"}', NULL, 'S240422ed', NULL, 'done', 0, 0, NULL, 1796402647.2089064, 1713800001, '{"channel": "C0EVENT", "ts": "1713800000.000100"}', NULL, NULL);
INSERT INTO public.deliveries VALUES (2, 'event:S240422ed', 'Upload', '{"filename": "S240422ed.png"}', '\x89504e472070656e64696e672070696374757265', 'S240422ed', 1, 'pending', 2, 1713800100, NULL, 1796402647.215023, NULL, NULL, 'ratelimited', NULL);


--
-- Data for Name: events; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.events VALUES ('S240422ed', false, 's240422ed', 'C0EVENT', true, 'C0ALERTS', '1713800000.000100', 'UPDATE', '2024-04-22T21:35:13Z', '{"area_90_deg2": 259.0, "hasns": 0.99}', '{"text": "S240422ed UPDATE", "blocks": []}', false, 1713800000, 1713900000);
INSERT INTO public.events VALUES ('MS181101ab', true, NULL, NULL, false, NULL, NULL, NULL, NULL, '{}', NULL, true, 1796402647.2013764, 1796402647.2013776);


--
-- Data for Name: footprints; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.footprints VALUES (47, 'ZTF', '[[[0, 0], [1, 0], [1, 1]]]', 1713810000);


--
-- Data for Name: handled; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.handled VALUES ('igwn.gwalert:S240422ed:2024-04-22T21:35:13Z', 'alert', 'S240422ed', 'igwn.gwalert', 0, 41, 'done', 1713800000);


--
-- Data for Name: hermes_reports; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.hermes_reports VALUES (1, 2, 'S240422ed', '{"title": "report"}', '[]', true, NULL, 'published', NULL, NULL, '1b4e28ba-2fa1-11d2-883f-0016d3cca427', NULL, NULL, NULL, 1796402647.2442667);


--
-- Data for Name: hermes_seen; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.hermes_seen VALUES ('1b4e28ba-2fa1-11d2-883f-0016d3cca427', 'S240422ed', 1796402647.2466335);


--
-- Data for Name: outbox_senders; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.outbox_senders VALUES ('deadbeefdeadbeef', 1713800000);


--
-- Data for Name: plans; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.plans VALUES (1, 'S240422ed', 1, 'lco', '{"facility": "lco", "fields": 20}', '{"n_fields": 20}', '{"requests": []}', 'proposed', 'U0ASKER', 'C0EVENT', '1713800200.000100', 1796402647.2207613, 1713807200, NULL, NULL, NULL, NULL, NULL, '{}');
INSERT INTO public.plans VALUES (2, 'S240422ed', 1, 'lco', '{"facility": "lco", "fields": 20}', '{"n_fields": 20}', '{"requests": []}', 'submitted', 'U0ASKER', 'C0EVENT', '1713800200.000100', 1796402647.2207627, 1713807200, 'U0APPROVER', NULL, NULL, 1871234, NULL, '{"3601": "PENDING"}');
INSERT INTO public.plans VALUES (3, 'S240422ed', 1, 'lco', '{"facility": "lco", "fields": 20}', '{"n_fields": 20}', '{"requests": []}', 'rejected', 'U0ASKER', 'C0EVENT', '1713800200.000100', 1796402647.2207634, 1713807200, 'U0APPROVER', NULL, NULL, NULL, NULL, '{}');


--
-- Data for Name: posts; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.posts VALUES (1, 'S240422ed', 'C0ALERTS', '1713800000.000100', '[{"type": "section", "text": {"type": "mrkdwn", "text": "S240422ed"}}]', 'S240422ed');


--
-- Data for Name: seen_pointings; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.seen_pointings VALUES (1, 'S240422ed', 99002, 47, 'completed', 'g', 121, -41, 0, 1713810000, 21, 'ab_mag');


--
-- Data for Name: shared_pointings; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.shared_pointings VALUES (1, 2, 'S240422ed', 0, '3601', 71, 120, -40, 'r', NULL, NULL, 20.5, true, 1713810000, NULL, 'planned', 'planned', 99001);


--
-- Data for Name: skymaps; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.skymaps VALUES (1, 'S240422ed', 'igwn.gwalert:S240422ed:2024-04-22T21:35:13Z', 'UPDATE', '\x53494d504c4520203d202020202020202020202020202020202020202054000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', 1713800000, 'gw', 1713821713, NULL);


--
-- Data for Name: topic_progress; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.topic_progress VALUES ('igwn.gwalert', 1713800000, 41, 3, NULL, NULL);


--
-- Name: candidates_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.candidates_id_seq', 1, true);


--
-- Name: deliveries_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.deliveries_id_seq', 2, true);


--
-- Name: footprints_instrument_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.footprints_instrument_id_seq', 1, false);


--
-- Name: hermes_reports_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.hermes_reports_id_seq', 1, true);


--
-- Name: plans_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.plans_id_seq', 3, true);


--
-- Name: posts_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.posts_id_seq', 1, true);


--
-- Name: seen_pointings_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.seen_pointings_id_seq', 1, true);


--
-- Name: shared_pointings_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.shared_pointings_id_seq', 1, true);


--
-- Name: skymaps_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.skymaps_id_seq', 1, true);


--
-- Name: candidate_detections candidate_detections_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.candidate_detections
    ADD CONSTRAINT candidate_detections_pkey PRIMARY KEY (key);


--
-- Name: candidate_streams candidate_streams_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.candidate_streams
    ADD CONSTRAINT candidate_streams_pkey PRIMARY KEY (event_id);


--
-- Name: candidates candidates_event_id_broker_object_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.candidates
    ADD CONSTRAINT candidates_event_id_broker_object_id_key UNIQUE (event_id, broker, object_id);


--
-- Name: candidates candidates_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.candidates
    ADD CONSTRAINT candidates_pkey PRIMARY KEY (id);


--
-- Name: channel_ids channel_ids_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.channel_ids
    ADD CONSTRAINT channel_ids_pkey PRIMARY KEY (name);


--
-- Name: coverage_reads coverage_reads_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.coverage_reads
    ADD CONSTRAINT coverage_reads_pkey PRIMARY KEY (event_id);


--
-- Name: deliveries deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_pkey PRIMARY KEY (id);


--
-- Name: events events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (event_id);


--
-- Name: footprints footprints_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.footprints
    ADD CONSTRAINT footprints_pkey PRIMARY KEY (instrument_id);


--
-- Name: handled handled_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.handled
    ADD CONSTRAINT handled_pkey PRIMARY KEY (key);


--
-- Name: hermes_reports hermes_reports_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.hermes_reports
    ADD CONSTRAINT hermes_reports_pkey PRIMARY KEY (id);


--
-- Name: hermes_seen hermes_seen_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.hermes_seen
    ADD CONSTRAINT hermes_seen_pkey PRIMARY KEY (uuid);


--
-- Name: outbox_senders outbox_senders_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox_senders
    ADD CONSTRAINT outbox_senders_pkey PRIMARY KEY (id);


--
-- Name: plans plans_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plans
    ADD CONSTRAINT plans_pkey PRIMARY KEY (id);


--
-- Name: posts posts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.posts
    ADD CONSTRAINT posts_pkey PRIMARY KEY (id);


--
-- Name: seen_pointings seen_pointings_event_id_tm_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.seen_pointings
    ADD CONSTRAINT seen_pointings_event_id_tm_id_key UNIQUE (event_id, tm_id);


--
-- Name: seen_pointings seen_pointings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.seen_pointings
    ADD CONSTRAINT seen_pointings_pkey PRIMARY KEY (id);


--
-- Name: shared_pointings shared_pointings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.shared_pointings
    ADD CONSTRAINT shared_pointings_pkey PRIMARY KEY (id);


--
-- Name: shared_pointings shared_pointings_plan_id_rank_band_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.shared_pointings
    ADD CONSTRAINT shared_pointings_plan_id_rank_band_key UNIQUE (plan_id, rank, band);


--
-- Name: skymaps skymaps_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.skymaps
    ADD CONSTRAINT skymaps_pkey PRIMARY KEY (id);


--
-- Name: topic_progress topic_progress_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.topic_progress
    ADD CONSTRAINT topic_progress_pkey PRIMARY KEY (topic);


--
-- Name: ix_candidate_detections_candidate_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_candidate_detections_candidate_id ON public.candidate_detections USING btree (candidate_id);


--
-- Name: ix_candidates_event_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_candidates_event_id ON public.candidates USING btree (event_id);


--
-- Name: ix_deliveries_lane; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deliveries_lane ON public.deliveries USING btree (lane);


--
-- Name: ix_deliveries_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deliveries_status ON public.deliveries USING btree (status);


--
-- Name: ix_handled_event_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_handled_event_id ON public.handled USING btree (event_id);


--
-- Name: ix_hermes_reports_event_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_hermes_reports_event_id ON public.hermes_reports USING btree (event_id);


--
-- Name: ix_hermes_reports_plan_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_hermes_reports_plan_id ON public.hermes_reports USING btree (plan_id);


--
-- Name: ix_hermes_seen_event_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_hermes_seen_event_id ON public.hermes_seen USING btree (event_id);


--
-- Name: ix_plans_event_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_plans_event_id ON public.plans USING btree (event_id);


--
-- Name: ix_plans_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_plans_status ON public.plans USING btree (status);


--
-- Name: ix_posts_event_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_posts_event_id ON public.posts USING btree (event_id);


--
-- Name: ix_seen_pointings_event_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_seen_pointings_event_id ON public.seen_pointings USING btree (event_id);


--
-- Name: ix_shared_pointings_event_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_shared_pointings_event_id ON public.shared_pointings USING btree (event_id);


--
-- Name: ix_shared_pointings_plan_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_shared_pointings_plan_id ON public.shared_pointings USING btree (plan_id);


--
-- Name: ix_skymaps_event_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_skymaps_event_id ON public.skymaps USING btree (event_id);


--
-- Name: candidate_detections candidate_detections_candidate_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.candidate_detections
    ADD CONSTRAINT candidate_detections_candidate_id_fkey FOREIGN KEY (candidate_id) REFERENCES public.candidates(id);


--
-- Name: deliveries deliveries_depends_on_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_depends_on_fkey FOREIGN KEY (depends_on) REFERENCES public.deliveries(id);


--
-- Name: hermes_reports hermes_reports_plan_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.hermes_reports
    ADD CONSTRAINT hermes_reports_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES public.plans(id);


--
-- Name: shared_pointings shared_pointings_plan_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.shared_pointings
    ADD CONSTRAINT shared_pointings_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES public.plans(id);


--
-- PostgreSQL database dump complete
--

\unrestrict hWCfTeXZnnFigx4sbSee6jtveaC0vg3ZmSYGtLL4xGRkpHyGmSeVZ9PtAJSpcDo

