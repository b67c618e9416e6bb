/**
 * The MQTT topic hierarchy used by {@link MqttSink}; defined in `core/mqtt` so the CESC ingest shares it.
 * @module
 */
export {
  CONNECTION_STATE_TOPIC,
  DEFAULT_TOPIC_POLICIES,
  DEFAULT_VSS_TOPICS,
  parseTopic,
  reverseTopicMap,
  topicOf,
  type TopicPolicy,
  type TopicRoute,
  TopicTable,
  type TopicTableOptions,
} from "../../core/mqtt/mod.ts";
